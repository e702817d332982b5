"""The generation-parameter flags shared by `chat` (and later commands), mapped onto GenerationParams."""

from __future__ import annotations

import argparse

from gptbench.core.params import PRESETS, GenerationParams

#: flag -> (field, type, help)
FLAGS: dict[str, tuple[str, type, str]] = {
    "--max-tokens": ("max_tokens", int, "new tokens at most (HF: max_new_tokens)"),
    "--max-length": ("max_length", int, "prompt + new tokens at most (HF style)"),
    "--temperature": ("temperature", float, "sampling temperature, 0–2 (0 = greedy)"),
    "--top-p": ("top_p", float, "nucleus sampling mass, (0, 1]"),
    "--top-k": ("top_k", int, "sample from the k most likely tokens (local, or servers that accept it)"),
    "--repetition-penalty": ("repetition_penalty", float, "HF-style penalty > 1 discourages repeats"),
    "--frequency-penalty": ("frequency_penalty", float, "OpenAI-style, -2–2"),
    "--presence-penalty": ("presence_penalty", float, "OpenAI-style, -2–2"),
    "--n": ("n", int, "number of alternative replies"),
    "--seed": ("seed", int, "seed for reproducible sampling"),
    "--logprobs": ("logprobs", int, "report the top-N alternatives of each token (0–20)"),
}


def add_param_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("generation parameters")
    group.add_argument("--preset", choices=sorted(PRESETS), help="start from a named preset")
    for flag, (dest, kind, text) in FLAGS.items():
        group.add_argument(flag, dest=f"p_{dest}", type=str, metavar=kind.__name__.upper(), help=text)
    group.add_argument(
        "--stop", dest="p_stop", action="append", metavar="TEXT", help="stop sequence (repeatable)"
    )
    sampling = group.add_mutually_exclusive_group()
    sampling.add_argument(
        "--sample", dest="p_do_sample", action="store_const", const=True, help="sample tokens"
    )
    sampling.add_argument(
        "--greedy", dest="p_do_sample", action="store_const", const=False, help="greedy decoding"
    )


def params_from_args(args: argparse.Namespace, base: GenerationParams) -> GenerationParams:
    """The settings' params, then the preset, then each flag given; invalid values raise ParamError."""
    values = base.to_dict()
    if args.preset:
        values.update(PRESETS[args.preset].to_dict())
    for key, value in vars(args).items():
        if key.startswith("p_") and value is not None:
            values[key[2:]] = value
    return GenerationParams.from_dict(values)
