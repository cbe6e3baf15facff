"""WavLink demo: `python app.py` serves the app on http://127.0.0.1:7860 (offline)."""

import argparse
import os

for key, value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
}.items():
    os.environ.setdefault(key, value)


def main() -> None:
    from wavlink_core import load_pretrained
    from wavlink_core.cli import default_compare_model, default_model, model_dir

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--model",
        default=default_model(),
        help="wavlink-tiny (the shipped trained model, default), wavlink-tiny-aut, a checkpoint "
        "folder, or an untrained preset such as tiny-untrained",
    )
    ap.add_argument(
        "--compare-model",
        default=None,
        help="a second checkpoint on another audio backbone (e.g. Whisper-AuT) for the Explore tab's "
        "switch (default: the bundled one when --model is the bundled model; 'none' turns it off)",
    )
    ap.add_argument(
        "--library",
        default=None,
        metavar="DB",
        help="a sound library built with `python -m wavlink_core index DIR --db DB` and the same "
        "--model: the Library tab searches it, read-only, instead of the gallery",
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    ap.add_argument("--share", action="store_true", help="public gradio.live link (needs internet)")
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads per request (2 requests run at once)"
    )
    args = ap.parse_args()
    import torch

    torch.set_num_threads(
        args.threads
    )  # 1 per request: 2-core boxes get 7x slower with 2 when anything else runs

    from demo import LAUNCH_KWARGS, build_demo
    from wavlink_core.library import LibraryError

    model = load_pretrained(args.model)
    folder = model_dir(args.model)
    other = args.compare_model
    shipped = model_dir(default_model())
    if other is None and folder and shipped and folder.resolve() == shipped.resolve():
        other = default_compare_model()
    compare = load_pretrained(other) if other and other != "none" else None
    try:
        demo = build_demo(model, model_dir=folder, compare_model=compare, library=args.library)
    except LibraryError as e:  # missing, not a library, or built with another model
        ap.exit(2, f"error: --library: {e}\n")
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, **LAUNCH_KWARGS)


if __name__ == "__main__":
    main()
