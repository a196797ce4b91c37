"""``mmscore score human``: the human scoring web UI (seed ``001``'s Human Scorer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmscore.cli.app import EPILOG, group
from mmscore.cli.options import DataDirOpt, ExperimentOpt, command, forbid, given_options

HELP = f"""Score generated videos 1-5 by hand in a local web page (keyboard: 1-5, Enter, S, B).

Tasks that already have a human scoring are skipped; scorings go to
<output-dir>/human-eval/<experiment>/<model>/<task_type>/<task_id>/human-eval.json (human-eval@<annotator>.json
for further annotators).

Examples:

  mmscore score human --experiment pilot_experiment --annotator alice

  mmscore score human -e pilot_experiment -a bob --include-scored-by-others --shuffle --seed 7 --port 7861

{EPILOG}
"""


@command
def score_human(
    experiment: ExperimentOpt = "pilot_experiment",
    annotator: Annotated[Optional[str], typer.Option("--annotator", "-a", help="Annotator name (else asked for in "
                                                     "the page).")] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = 7860,
    share: Annotated[bool, typer.Option("--share", help="Also create a public Gradio share link.")] = False,
    host: Annotated[str, typer.Option("--host", help="Interface to bind (0.0.0.0 exposes the page to your "
                                      "network).")] = "127.0.0.1",
    data_dir: DataDirOpt = None,
    output_dir: Annotated[Optional[Path], typer.Option("--output-dir", help="Scorings root, like $VMEVAL_OUTPUT_DIR: "
                          "writes <output-dir>/human-eval/<experiment>/... (default $VMEVAL_OUTPUT_DIR/human-eval "
                          "or <data-dir>/scorings/human-eval).")] = None,
    include_scored_by_others: Annotated[bool, typer.Option("--include-scored-by-others", help="Also offer tasks "
                                        "other annotators scored (for inter-annotator agreement).")] = False,
    shuffle: Annotated[bool, typer.Option("--shuffle", help="Random queue order (see --seed).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --shuffle order.")] = 0,
    no_blind: Annotated[bool, typer.Option("--no-blind", help="Show the model name while scoring.")] = False,
) -> None:
    from rich.console import Console

    from mmscore.human.scorer import SCORER, HumanScorer
    from mmscore.io.experiment import scorer_folder_under

    if not shuffle:
        forbid(given_options(), ["seed"], "without --shuffle")
    scorer = HumanScorer(
        experiment_name=experiment, data_dir=data_dir, output_dir=scorer_folder_under(output_dir, SCORER),
        annotator=annotator,
        include_scored_by_others=include_scored_by_others, shuffle=shuffle, seed=seed, blind=not no_blind,
    )
    console = Console(stderr=True)
    console.print(f"[bold]{len(scorer.queue.order)}[/] tasks in {scorer.experiment_dir}; "
                  f"scorings go to {scorer.output_dir}")
    console.print(f"Open http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port} "
                  "in a browser (Ctrl+C stops the server).")
    try:
        scorer.launch_interface(share=share, port=port, host=host, quiet=True)
    finally:
        scorer.close()


def register(app: typer.Typer) -> None:  # noqa: ARG001 - the command lives in the shared "score" group
    group("score").command("human", help=HELP, short_help="Score videos by hand in a local web page.")(score_human)
