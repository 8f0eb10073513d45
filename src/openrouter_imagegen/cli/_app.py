"""The `openrouter-imagegen` commands.

Only click is imported up front, so `--help` stays fast; each command
imports what it uses (httpx, msgspec, rich, the emulator) when it runs.
Exit codes: 0 success, 1 an API or I/O error, 2 a usage error (a bad option,
a missing input file, an output that cannot be written as asked), 130
interrupted. Errors are one `error:` line on stderr (and, with `--json`, a
JSON object on stdout).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from openrouter_imagegen._exceptions import ImagegenError, ImageSaveError
from openrouter_imagegen.cli._console import JSON_ERRORS, partial_name, stderr
from openrouter_imagegen.cli._options import (
    DEFAULT_MODEL,
    client_options,
    connection_options,
    generation_options,
    read_prompt,
    to_generation_options,
)

if TYPE_CHECKING:
    from rich.console import Console

    from openrouter_imagegen.client import ImageClient
    from openrouter_imagegen.images import GeneratedImage
    from openrouter_imagegen.models.operations import Response

__all__ = ["DEFAULT_MODEL", "JSON_ERRORS", "cli"]


def _describe(image: GeneratedImage, path: Path) -> str:
    """What was saved: the image's format and size, and the file's bytes."""
    size = f"{image.width}x{image.height}" if image.width is not None else "size unknown"
    return f"{image.media_type}, {size}, {path.stat().st_size:,} bytes"


def _results(response: Response, images: list[GeneratedImage], paths: list[Path]) -> dict[str, Any]:
    return {
        "response_id": response.id,
        "generation_id": response.generation_id,
        "model": response.model,
        "status": str(response.status) if response.status else None,
        "images": [
            {
                "path": str(path),
                "id": image.call_id,
                "media_type": image.media_type,
                "width": image.width,
                "height": image.height,
                "bytes": path.stat().st_size,  # the file's: the image and its provenance
            }
            for image, path in zip(images, paths, strict=True)
        ],
        "usage": response.usage.to_dict() if response.usage else None,
    }


def _report(
    response: Response, images: list[GeneratedImage], paths: list[Path], as_json: bool
) -> None:
    if as_json:
        click.echo(json.dumps(_results(response, images, paths), indent=2))
        return
    for image, path in zip(images, paths, strict=True):
        click.echo(f"saved {path} ({_describe(image, path)})")


def _check_destination(output: Path, overwrite: bool) -> None:
    """Refuse, before anything is paid for, an output that cannot be written as asked."""
    from openrouter_imagegen.images import is_directory_destination

    if is_directory_destination(output):
        directory = output
        if output.exists() and not output.is_dir():
            raise click.BadParameter(f"{output} exists and is not a directory", param_hint="-o")
    else:
        if output.exists() and not overwrite:
            raise click.BadParameter(
                f"{output} exists; pass --overwrite to replace it", param_hint="-o"
            )
        directory = output.parent
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise click.BadParameter(f"{existing} is not a directory", param_hint="-o")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ImagegenError(f"cannot write into {existing}: permission denied")


def _save_or_rescue(
    images: list[GeneratedImage], output: Path, overwrite: bool, *, metadata: bool, sidecar: bool
) -> list[Path]:
    """Save where asked; an image paid for that cannot be written there is kept elsewhere."""
    from openrouter_imagegen.images import save_all

    try:
        return save_all(images, output, overwrite=overwrite, metadata=metadata, sidecar=sidecar)
    except ImageSaveError as exc:
        rescue = Path(tempfile.mkdtemp(prefix="openrouter-imagegen-rescued-"))
        kept = save_all(images, rescue, metadata=metadata, sidecar=sidecar)
        raise ImagegenError(
            f"{exc}; the image(s) were kept as {', '.join(map(str, kept))}"
        ) from exc


def _stream(
    client: ImageClient,
    prompt: str,
    request: dict[str, Any],
    partials_to: Path | None,
    console: Console,
) -> Response:
    """Stream one generation, showing progress on stderr (saving previews when asked)."""
    from rich.status import Status

    from openrouter_imagegen.images import is_directory_destination

    live = console.is_terminal
    status = Status("waiting for the server…", console=console) if live else None
    if status:
        status.start()
    try:
        with client.stream(prompt, **request) as stream:
            for update in stream:
                preview = update.partial_image
                calls = update.response.image_generation_calls
                state = str(calls[0].status) if calls else "starting"
                message = f"{state}: {len(stream.partial_images)} partial image(s) received"
                if preview is not None:
                    if partials_to is not None:
                        image = preview.image()
                        directory = (
                            partials_to
                            if is_directory_destination(partials_to)
                            else partials_to.parent
                        )
                        directory.mkdir(parents=True, exist_ok=True)
                        name = partial_name(image, preview.partial_image_index)
                        path = image.save(directory / name, overwrite=True)
                        message += f" (saved {path})"
                    if not live:
                        console.print(message)
                if status:
                    status.update(message)
            return stream.final_response()
    finally:
        if status:
            status.stop()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="openrouter-imagegen")
def cli() -> None:
    """Generate images through OpenRouter and get them back as typed, validated, saved files.

    Reads OPENROUTER_API_KEY (needed for any server but a local one) and
    OPENROUTER_BASE_URL from the environment; the model defaults to
    openai/gpt-5-image, or OPENROUTER_IMAGEGEN_MODEL.
    """


def _output_options(function: Any) -> Any:
    options = [
        click.option(
            "-o",
            "--output",
            type=click.Path(path_type=Path),
            default=Path("."),
            show_default=True,
            help="A directory (created if needed; a trailing / or a name without an image "
            "extension means one) or a file name (numbered when there are several images).",
        ),
        click.option("--overwrite", is_flag=True, help="Replace files that exist."),
        click.option("--stream", is_flag=True, help="Stream progress and partial images."),
        click.option(
            "--partial-images",
            type=click.IntRange(0, 3),
            default=2,
            show_default=True,
            help="With --stream: how many previews to ask for, where the model streams.",
        ),
        click.option("--save-partials", is_flag=True, help="With --stream: save each preview too."),
        click.option(
            "--save-response",
            "--capture",
            "save_response",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Save the server's raw answer to this file, for `extract` and `inspect`: "
            "the body, or with --stream the event stream (--capture is the same option).",
        ),
        click.option(
            "--fetch",
            is_flag=True,
            help="Download results that are URLs (otherwise they are reported, not fetched).",
        ),
        click.option(
            "--no-metadata",
            is_flag=True,
            help="Save the image bytes alone, without the provenance (prompt, model, "
            "parameters, seed, cost) embedded by default.",
        ),
        click.option(
            "--sidecar",
            is_flag=True,
            help="Also write the provenance to NAME.json beside each image.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable results on stdout."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run_generation(prompt: str, kwargs: dict[str, Any], previous: Any = None) -> None:
    from openrouter_imagegen.cli._session import explained, make_client

    as_json: bool = kwargs.pop("as_json")
    JSON_ERRORS["enabled"] = as_json
    output: Path = kwargs.pop("output")
    overwrite: bool = kwargs.pop("overwrite")
    stream: bool = kwargs.pop("stream")
    save_partials: bool = kwargs.pop("save_partials")
    partial_images: int = kwargs.pop("partial_images")
    save_response: Path | None = kwargs.pop("save_response")
    fetch: bool = kwargs.pop("fetch")
    metadata: bool = not kwargs.pop("no_metadata")
    sidecar: bool = kwargs.pop("sidecar")
    images: list[Path] = kwargs.pop("images", [])
    if save_partials and not stream:
        raise click.UsageError("--save-partials needs --stream")
    prompt = read_prompt(prompt)
    _check_destination(output, overwrite)
    connection = client_options(kwargs)
    options = to_generation_options(kwargs)
    request: dict[str, Any] = {
        "model": kwargs.pop("model"),
        "endpoint": kwargs.pop("endpoint"),
        "check_parameters": not kwargs.pop("no_check"),
        **options,
    }
    console = stderr()
    with explained(connection["base_url"]), make_client(connection, record=save_response) as client:
        if stream:
            streamed = {**request, "partial_images": partial_images}
            if previous is not None or images:
                streamed.update(previous=previous, images=images)
            response = _stream(client, prompt, streamed, output if save_partials else None, console)
        elif previous is not None or images:
            response = client.edit(previous, prompt, images=images, **request)
        else:
            response = client.generate(prompt, **request)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            found = client.images(response, fetch=fetch)
    for warning in caught:  # one clean line each, not Python's warning format
        console.print(f"warning: {warning.message}")
    if save_response is not None:
        console.print(f"saved the raw answer to {save_response}")
    if not found:
        reason = response.error.message if response.error and response.error.message else None
        raise ImagegenError(
            f"no image came back (status {response.status or 'unknown'}"
            + (f": {reason})" if reason else ")")
        )
    paths = _save_or_rescue(found, output, overwrite, metadata=metadata, sidecar=sidecar)
    _report(response, found, paths, as_json)


@cli.command()
@click.argument("prompt", required=False)
@click.option(
    "--from",
    "from_image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Repeat the request that made this image (its model, route, parameters and "
    "seed, from the provenance it carries); PROMPT and options given override them.",
)
@generation_options
@_output_options
@connection_options
@click.pass_context
def generate(
    ctx: click.Context, /, prompt: str | None, from_image: Path | None, **kwargs: Any
) -> None:
    """Generate images from PROMPT (`-` reads it from standard input) and save them."""
    if from_image is not None:
        prompt = _repeat(ctx, from_image, prompt, kwargs)
    if prompt is None:
        raise click.UsageError("a PROMPT is needed (or --from IMAGE_FILE)")
    _run_generation(prompt, kwargs)


def _repeat(ctx: click.Context, image: Path, prompt: str | None, kwargs: dict[str, Any]) -> str:
    """The request recorded in `image`, with what the command line gave on top."""
    from click.core import ParameterSource

    from openrouter_imagegen.images import read_metadata

    found = read_metadata(image)
    if found is None:
        raise click.BadParameter(
            f"{image} carries no provenance metadata (nor a sidecar) to repeat",
            param_hint="--from",
        )

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE

    recorded = {**found.parameters, "seed": found.seed, "model": found.model}
    if found.route in ("images", "chat", "responses"):
        recorded["endpoint"] = found.route
    if "provider" in recorded:
        order = recorded.pop("provider", {}).get("order") or ()
        recorded["providers"] = tuple(order)
    recorded.pop("input_references", None)  # their bytes are not in the record
    for name, value in recorded.items():
        if name in kwargs and value is not None and not given(name):
            kwargs[name] = value
    return prompt if prompt is not None else found.prompt


@cli.command()
@click.argument("image_or_response", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("prompt")
@generation_options
@_output_options
@connection_options
def edit(image_or_response: Path, prompt: str, **kwargs: Any) -> None:
    """Refine an earlier image: IMAGE_OR_RESPONSE is an image file, or a saved response
    whose images to continue; PROMPT says what to change (`-` reads standard input)."""
    from openrouter_imagegen.images import sniff_media_type

    head = image_or_response.read_bytes()[:4096]
    if sniff_media_type(head) is not None:
        _run_generation(prompt, {**kwargs, "images": [image_or_response]})
        return
    from openrouter_imagegen.cli._saved import read_saved
    from openrouter_imagegen.models.operations import Response

    saved = read_saved(image_or_response)
    calls = [call for _, call in saved.calls if call.result]
    if saved.error or not calls:
        raise ImagegenError(f"{image_or_response}: {saved.error or 'holds no image to refine'}")
    _run_generation(prompt, kwargs, previous=Response(output=list(calls)))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
    help="Port to listen on (0 picks a free one; the URL printed says which).",
)  # fmt: skip
@click.option(
    "--api-key-env",
    default=None,
    help="Require the key held in this environment variable (an unset one is an error).",
)
@click.option("--faults", default="", help="Faults to inject, comma-separated, e.g. 429,500,reset.")
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="The share of requests that get one of --faults.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fault injection.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (needs a key).")
@click.option(
    "--url-results",
    is_flag=True,
    help="Answer with URLs the emulator serves instead of inline images (try --fetch).",
)
@click.option("--log-requests", is_flag=True, help="Print each request received (never the key).")
def serve(
    host: str,
    port: int,
    api_key_env: str | None,
    faults: str,
    fault_rate: float,
    seed: int,
    allow_remote: bool,
    url_results: bool,
    log_requests: bool,
) -> None:
    """Run the local OpenRouter-compatible emulator until Ctrl-C.

    It prints its base URL once it listens; point OPENROUTER_BASE_URL at it.
    A busy port is an error (exit 1).
    """
    from openrouter_imagegen.emulator import serve as serve_emulator

    def ready(url: str) -> None:
        click.echo(f"emulator listening on {url}", err=True)
        click.echo(f"  export OPENROUTER_BASE_URL={url}", err=True)

    try:
        serve_emulator(
            host=host,
            port=port,
            api_key_env=api_key_env,
            faults=tuple(f for f in faults.split(",") if f),
            fault_rate=fault_rate,
            seed=seed,
            allow_remote=allow_remote,
            url_results=url_results,
            log_requests=log_requests,
            log_level="warning",
            on_ready=ready,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise ImagegenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Directory for the demo's image.",
)
def demo(output: Path) -> None:
    """Start the emulator on 127.0.0.1, stream an image over real HTTP, save it, stop."""
    from openrouter_imagegen.client import ImageClient
    from openrouter_imagegen.emulator import run
    from openrouter_imagegen.images import save_all

    console = stderr()
    prompt = "a lighthouse on a cliff at dusk, watercolour"
    model = "openai/gpt-image-1"  # on the emulator's Image API, with streamed previews
    with run() as base_url, ImageClient(base_url=base_url, api_key="") as client:
        console.print(f"emulator running at {base_url}")
        request = {"model": model, "size": "768x512", "partial_images": 2}
        response = _stream(client, prompt, request, None, console)
        images = response.images()
    paths = save_all(images, output, overwrite=True)
    console.print(f"generated {len(paths)} image(s) from {prompt!r}; the emulator has stopped")
    for image, path in zip(images, paths, strict=True):
        click.echo(f"saved {path} ({_describe(image, path)})")
    console.print(
        "next: export OPENROUTER_API_KEY=sk-or-...  then\n"
        '  openrouter-imagegen generate "a red fox in the snow" -o out/\n'
        "  openrouter-imagegen models      # the image models and their prices\n"
        "docs: docs/index.md (make docs builds the site into site/)"
    )


# Registered last: these commands import this module's helpers.
from openrouter_imagegen.cli._batch_command import batch  # noqa: E402
from openrouter_imagegen.cli._catalogue_commands import estimate, models  # noqa: E402
from openrouter_imagegen.cli._compare_command import compare  # noqa: E402
from openrouter_imagegen.cli._gallery_command import gallery  # noqa: E402
from openrouter_imagegen.cli._saved_commands import extract, inspect  # noqa: E402

for _command in (batch, compare, estimate, extract, gallery, inspect, models):
    cli.add_command(_command)
