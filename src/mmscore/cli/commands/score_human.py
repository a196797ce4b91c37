"""``mmscore score human``: the human scoring web UI (seed ``001``'s Human Scorer)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mmscore.cli.app import group


def register(app: typer.Typer) -> None:  # noqa: ARG001 - the command lives in the shared "score" group
    @group("score").command(
        "human",
        help="Score generated videos 1-5 by hand in a local web page (keyboard: 1-5, Enter, S, B). "
        "Tasks that already have a human scoring are skipped; scorings go to "
        "<output-dir>/human-eval/<experiment>/<model>/<task_type>/<task_id>/human-eval.json "
        "(human-eval@<annotator>.json for further annotators).",
    )
    def score_human(
        experiment: str = typer.Option("pilot_experiment", "--experiment", "-e",
                                       help="Experiment folder under <data-dir>/outputs/."),
        annotator: Optional[str] = typer.Option(None, "--annotator", "-a",
                                                help="Annotator name (else asked for in the page)."),
        port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to serve on."),
        share: bool = typer.Option(False, "--share", help="Also create a public Gradio share link."),
        host: str = typer.Option("127.0.0.1", "--host",
                                 help="Interface to bind (0.0.0.0 exposes the page to your network)."),
        data_dir: Optional[Path] = typer.Option(
            None, "--data-dir", help="Folder holding outputs/ (default $VMEVAL_DATA_DIR or data)."),
        output_dir: Optional[Path] = typer.Option(
            None, "--output-dir",
            help="Scorings root, like $VMEVAL_OUTPUT_DIR: writes <output-dir>/human-eval/<experiment>/... "
                 "(default $VMEVAL_OUTPUT_DIR/human-eval or <data-dir>/scorings/human-eval)."),
        include_scored_by_others: bool = typer.Option(
            False, "--include-scored-by-others",
            help="Also offer tasks other annotators scored (for inter-annotator agreement)."),
        shuffle: bool = typer.Option(False, "--shuffle", help="Random queue order (see --seed)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the --shuffle order."),
        no_blind: bool = typer.Option(False, "--no-blind", help="Show the model name while scoring."),
    ) -> None:
        from rich.console import Console

        from mmscore.human.scorer import SCORER, HumanScorer
        from mmscore.io.experiment import scorer_folder_under

        scorer = HumanScorer(
            experiment_name=experiment, data_dir=data_dir, output_dir=scorer_folder_under(output_dir, SCORER),
            annotator=annotator,
            include_scored_by_others=include_scored_by_others, shuffle=shuffle, seed=seed,
            blind=not no_blind,
        )
        console = Console(stderr=True)
        view = scorer.queue
        console.print(f"[bold]{len(view.order)}[/] tasks in {scorer.experiment_dir}; "
                      f"scorings go to {scorer.output_dir}")
        console.print(f"Open http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port} "
                      "in a browser (Ctrl+C stops the server).")
        try:
            scorer.launch_interface(share=share, port=port, host=host, quiet=True)
        finally:
            scorer.close()
