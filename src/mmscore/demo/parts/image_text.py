"""Demo part: LongCLIP-style and CLIPScore scores of coloured squares with right and wrong captions."""

from __future__ import annotations

ORDER = 40
TITLE = "Image–text alignment (LongCLIP score, CLIPScore) on synthetic images"

COLOURS = ("red", "green", "blue", "yellow")


def run(ctx) -> list[str]:
    import pandas as pd

    from mmscore.demo.clip_encoder import demo_encoder
    from mmscore.fixtures.media import make_image
    from mmscore.io.storage import FileStorage
    from mmscore.io.tables import read_table, write_table
    from mmscore.operators.image_text import CLIPScoreEvaluator, ImageLongCLIPEvaluator

    folder = ctx.workspace / "image_text"
    images = {c: make_image(folder / "images" / f"{c}.png", color=c, width=96, height=96) for c in COLOURS}
    rows = [{"image_path": f"images/{img}.png", "text": f"a {cap} square on a dark background",
             "correct": img == cap} for img in COLOURS for cap in COLOURS]
    entry = write_table(pd.DataFrame(rows), folder / "pairs.jsonl")
    encoder, spec, note = demo_encoder(ctx, "image_text", "only show the mechanics, not alignment quality")
    lines = [f"note: {note}"] if note else []

    storage = FileStorage(str(entry), cache_path=str(folder / "cache"), file_name_prefix="image_text")
    longclip = ImageLongCLIPEvaluator(spec).use_encoder(encoder)
    clipscore = CLIPScoreEvaluator(spec).use_encoder(encoder)
    longclip.run(storage.step())
    clipscore.run(storage.step())
    result = read_table(folder / "cache" / "image_text_step2.jsonl")

    lines.append(f"scored {len(result)} image/caption pairs ({len(images)} images x {len(COLOURS)} captions) "
                 f"with {spec} -> {folder / 'cache' / 'image_text_step2.jsonl'}")
    for column in ("longclip_score", "clip_score"):
        right = result.loc[result["correct"], column].mean()
        wrong = result.loc[~result["correct"], column].mean()
        lines.append(f"  {column}: right captions {right:.4f}, wrong captions {wrong:.4f}")
    wins = 0
    for colour in COLOURS:
        own = result[result["image_path"] == f"images/{colour}.png"]
        right, wrong = own.loc[own["correct"], "longclip_score"], own.loc[~own["correct"], "longclip_score"]
        wins += int(right.iloc[0] > wrong.max())
    lines.append(f"  the right caption scores highest for {wins}/{len(COLOURS)} images")
    lines.append(f"  signature: {longclip.signature}")
    ctx.shared["image_text_scores"] = str(folder / "cache" / "image_text_step2.jsonl")
    return lines
