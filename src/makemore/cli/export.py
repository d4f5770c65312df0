"""makemore export: a trained run as ONNX graphs, a static web page that generates with no server,
or a model folder with its card (the Hugging Face Hub's layout)."""

from __future__ import annotations

from ..commandline import add

HELP = "export a run: ONNX graphs, a static generator page, or a Hub model folder with its card"
DESCRIPTION = ("Export a trained run. onnx: init, step and forward graphs with model.json; web: a folder of static "
               "files that generates in the browser with onnxruntime-web; hub: config.json, model.safetensors and a "
               "README.md model card, a folder every command reads as a run (docs/export.md).")


def add_arguments(e) -> None:
    e.add_argument("run", metavar="RUN", help="the run directory to export")
    e.add_argument("--format", required=True, choices=["onnx", "web", "hub"], help="what to write")
    add(e, "out", required=True, help="the folder to write (it must not exist, or be empty, unless --force)")
    add(e, "force", help="replace a non-empty output folder (once the export is complete)")
    e.add_argument("--license", help="hub: the license id in the card's metadata (default: other)")
    e.add_argument("--runtime", metavar="DIR", help="web: a folder holding onnxruntime-web's dist files (default: "
                   "fetched once from the npm registry and cached)")


def main(a) -> int:
    from ..export import export
    out = export(a.run, a.format, a.out, a.force, license=a.license, runtime=a.runtime)
    print(f"exported {a.run} as {a.format} to {out}")
    return 0
