"""Values the whole project shares, defined once: the success threshold and the default model ids.

Import from here rather than restating a value: operators, commands, the human UI and the
statistics must agree on them. This module imports nothing, so every layer may use it.
"""

from __future__ import annotations

#: VMEvalKit binary grading (seed 001): a 1-5 solution-correctness score counts as success from 4 up.
SUCCESS_THRESHOLD = 4

#: The CLIP model of EMScore and CLIPScore when none is given: the official ViT-B/32.
CLIP_MODEL = "openai/clip-vit-base-patch32"

#: The LongCLIP model of the image-text LongCLIP score (DataFlow-MM ``ImageLongCLIPEvaluator``).
LONGCLIP_MODEL = "BeichenZhang/LongCLIP-L-336px"

#: The OpenAI judge model of the GPT-4o scorer and the emotion LLM judges.
JUDGE_MODEL = "gpt-4o"
