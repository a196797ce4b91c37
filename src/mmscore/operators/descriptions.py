"""What each operator does, in DataFlow's ``get_desc(lang)`` form (``"zh"`` and ``"en"``).

DataFlow's web UI and agents list operators by these texts; other languages fall back to English.
"""

from __future__ import annotations

from collections.abc import Mapping

DESCRIPTIONS: dict[str, dict[str, str]] = {
    "EMScoreEval": {
        "en": "EMScore video-caption evaluator: samples video frames, embeds frames and captions with a CLIP "
        "model and matches them coarse (whole video) and fine (frame/token) grained against the video and "
        "the reference captions. Inputs: video_key, candidate_key, reference_key (optional). Outputs: "
        "'EMScore(X,X*)_*', 'EMScore(X,V)_*', 'EMScore(X,V,X*)_*' columns, frame_details, emscore_error.",
        "zh": "EMScore 视频描述评估算子：按策略抽取视频帧，用 CLIP 模型编码视频帧与文本，计算候选描述与参考描述/视频帧"
        "之间的粗粒度与细粒度匹配分数。输入：video_key、candidate_key、reference_key（可选）。输出：各 EMScore 分数列、"
        "frame_details 与 emscore_error。",
    },
    "ImageLongCLIPEvaluator": {
        "en": "LongCLIP image-long-text alignment: cosine of L2-normalised image and text embeddings mapped to "
        "[0, 1] by (cos + 1) / 2, with a 248-token text context. Inputs: input_image_key, input_text_key. "
        "Output: output_key (default longclip_score) and <output_key>_error.",
        "zh": "LongCLIP 图像-长文本对齐评估算子：图像与文本嵌入归一化后计算余弦相似度，"
        "并按 (cos + 1) / 2 映射到 [0, 1]，文本上下文长度 248。"
        "输入：input_image_key、input_text_key。输出：output_key（默认 longclip_score）及错误列。",
    },
    "ImageSPECSEvaluator": {
        "en": "SPECS image-text score (a LongCLIP-architecture model fine-tuned for specificity), same [0, 1] "
        "mapping as LongCLIP. Inputs: input_image_key, input_text_key. Output: output_key (default "
        "specs_score) and <output_key>_error.",
        "zh": "SPECS 图文评分算子（针对描述具体性微调的 LongCLIP 结构模型），分数映射与 LongCLIP 相同。"
        "输入：input_image_key、input_text_key。输出：output_key（默认 specs_score）及错误列。",
    },
    "CLIPScoreEvaluator": {
        "en": "CLIPScore (Hessel et al. 2021): 2.5 * max(cos(image, text), 0), reference-free. Inputs: "
        "input_image_key, input_text_key. Output: output_key (default clip_score) and <output_key>_error.",
        "zh": "CLIPScore 图文评分算子（Hessel 等, 2021）：2.5 * max(cos(图像, 文本), 0)，无需参考描述。"
        "输入：input_image_key、input_text_key。输出：output_key（默认 clip_score）及错误列。",
    },
    "RefCLIPScoreEvaluator": {
        "en": "RefCLIPScore: harmonic mean of CLIPScore and the best candidate-reference text similarity. "
        "Inputs: input_image_key, input_text_key, reference_key (default references). Output: output_key "
        "(default refclip_score) and <output_key>_error.",
        "zh": "RefCLIPScore 图文评分算子：CLIPScore 与候选描述-参考描述最大文本相似度的调和平均。"
        "输入：input_image_key、input_text_key、reference_key（默认 references）。"
        "输出：output_key（默认 refclip_score）及错误列。",
    },
    "TextStatsEvaluator": {
        "en": "Text statistics: words, characters and sentences of a text column (null for a missing cell). "
        "Input: input_text_key. Outputs: <prefix>_words, <prefix>_chars, <prefix>_sentences.",
        "zh": "文本统计算子：统计文本列的词数、字符数与句子数（缺失值输出空值）。输入：input_text_key。输出："
        "<prefix>_words、<prefix>_chars、<prefix>_sentences。",
    },
    "MediaPathChecker": {
        "en": "Media path check before an expensive scoring step: flags missing, empty or directory paths. "
        "Input: input_key. Outputs: <input_key>_ok and <input_key>_error.",
        "zh": "媒体路径检查算子：在耗时评分前检查路径是否缺失、为空文件或为目录。"
        "输入：input_key。输出：<input_key>_ok 与 <input_key>_error。",
    },
}


def describe(name: str, doc: str | None, lang: str = "zh", own: Mapping[str, str] | None = None) -> str:
    """The ``lang`` description of operator ``name``: the class's own ``descriptions`` (so a new
    operator is one file), else this table; English for other languages; else its docstring."""
    texts = own or DESCRIPTIONS.get(name)
    if texts:
        return texts.get(lang) or texts["en"]
    return (doc or name).strip().splitlines()[0]
