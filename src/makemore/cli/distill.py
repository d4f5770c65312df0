"""makemore distill: one model trained on a teacher run's (an ensemble's) next-character distributions."""

from __future__ import annotations

from ..commandline import MODEL_FIELDS, add, explicit, training_and_model_options
from ..errors import UsageError
from ..train import TRAIN_FIELDS
from .train import check_resume, train_and_report

HELP = "train one model on a teacher run's (an ensemble's) distributions"
DESCRIPTION = ("Train one model (the student) on a teacher run's next-character distributions mixed with the true "
               "characters: (1 - alpha) * CE(true) + alpha * CE(teacher). The teacher is any run directory, an ensemble "
               "usually; its distributions over the training split are computed once and stored in the student's "
               "directory. The student is a normal run: eval, sample, score and serve work on it.")
SET_BY_DISTILL = ("soft_targets", "distill_alpha", "distill_temperature")     # training options distill sets itself


def add_arguments(p) -> None:
    p.add_argument("teacher", metavar="TEACHER", nargs="?", help="the teacher: a run or ensemble directory "
                   "(not with --resume: the run's own)")
    add(p, "out", required=True, help="the student's run directory")
    p.add_argument("--alpha", type=float, default=0.5, help="the teacher's share of each target (default: 0.5)")
    add(p, "temperature", help="flatten the teacher's distributions: p^(1/T), renormalized (default: 1)")
    add(p, "type", "preset", "recipe", "resume", "force", "device", "no_progress")
    training_and_model_options(p, "the student's training options (as makemore train's)", "the student's model options",
                               skip=SET_BY_DISTILL)


def main(a) -> int:
    """Train (or --resume) the student in -o DIR, then print its losses."""
    from ..distill import student
    from ..runs import resume_run
    check_resume(a)
    options = {**explicit(a, TRAIN_FIELDS), **explicit(a, MODEL_FIELDS)}
    if a.resume:
        if any(k not in TRAIN_FIELDS for k in options) or a.type or a.preset or a.recipe:
            raise UsageError("--resume: model options cannot change; they are read from the run's config.json")
        run = resume_run(a.out, device=a.device, **options)
        if "distill" not in run.config:
            raise UsageError(f"{a.out}: not a distilled run; continue it with makemore train --resume")
    else:
        if a.teacher is None:
            raise UsageError("the teacher run directory is missing: makemore distill TEACHER -o DIR")
        run = student(a.out, a.teacher, alpha=a.alpha, temperature=a.temperature, force=a.force, device=a.device,
                      type=a.type, preset=a.preset, recipe=a.recipe, **options)
    status, losses = train_and_report(run, a, "distill")
    if not status:
        d = run.config["distill"]
        print(f"teacher {d['teacher']} ({d['teacher_type']}), alpha {d['alpha']}, temperature {d['temperature']}")
    return status
