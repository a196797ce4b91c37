"""Fine-tuning CLIP-family encoders: SPECS (specificity) and Long-CLIP (77 → 248 tokens).

One training loop (``engine``) drives every recipe (``recipes``): losses in ``losses``, the
trainable model with Long-CLIP's two position tables in ``model``, AdamW + cosine schedule in
``optim``, torchrun/DDP helpers in ``distributed``, resumable state in ``checkpoint``. Facts and
formulas follow the SPECS (mbzuai-nlp/SPECS) and Long-CLIP (beichenzbc/Long-CLIP) code; where the
originals do something that changes results by accident, a named option reproduces it and the
default is the documented intent (see README "Training").
"""
