"""The seed's models: construction, validation, JSON round trips, forward compatibility."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from conftest import DATA, load_reference_spec
from hypothesis import given, settings
from hypothesis import strategies as st

import openrouter_imagegen
from openrouter_imagegen import (
    OutputImageGenerationCall,
    OutputStatusEnum3,
    OutputTypeImageGenerationCall,
    Response,
    ValidationError,
    parse_response,
)
from openrouter_imagegen.models import (
    OutputAssistant,
    OutputFileSearchCall,
    OutputFunctionCall,
    OutputReasoning,
    OutputTextContent,
    OutputWebSearchCall,
    UnknownContent,
    UnknownOutput,
)

ALL_KINDS = (DATA / "response_all_kinds.json").read_bytes()
SEED_EXAMPLES: list[dict[str, Any]] = json.loads((DATA / "seed_examples.json").read_text())


def same_json(a: bytes | str, b: bytes | str) -> bool:
    return bool(json.loads(a) == json.loads(b))


# -- the seed ---------------------------------------------------------------


def test_seed_example_constructs_validates_serialises_and_parses_back_equal() -> None:
    # The TypeScript example of the seed page, in Python.
    value = OutputImageGenerationCall(
        type=OutputTypeImageGenerationCall.IMAGE_GENERATION_CALL,
        id="<id>",
        result="<value>",
        status=OutputStatusEnum3.FAILED,
    )
    wire = value.to_json()
    assert json.loads(wire) == {
        "type": "image_generation_call",
        "id": "<id>",
        "result": "<value>",
        "status": "failed",
    }
    back = OutputImageGenerationCall.from_json(wire)
    assert back == value
    assert back.status is OutputStatusEnum3.FAILED
    assert back.type is OutputTypeImageGenerationCall.IMAGE_GENERATION_CALL
    assert OutputImageGenerationCall.from_dict(value.to_dict()) == value


def test_enums_have_the_seed_members() -> None:
    assert [m.value for m in OutputTypeImageGenerationCall] == ["image_generation_call"]
    assert {m.name: m.value for m in OutputStatusEnum3} == {
        "IN_PROGRESS": "in_progress",
        "COMPLETED": "completed",
        "GENERATING": "generating",
        "FAILED": "failed",
    }
    assert str(OutputStatusEnum3.GENERATING) == "generating"
    assert f"{OutputStatusEnum3.IN_PROGRESS}" == "in_progress"


def test_type_defaults_in_python_but_is_required_on_the_wire() -> None:
    call = OutputImageGenerationCall(id="x", status="completed")
    assert call.type == "image_generation_call"
    assert call.result is None
    with pytest.raises(ValidationError) as info:
        OutputImageGenerationCall.from_json('{"id": "x", "status": "completed"}')
    assert info.value.path == "$.type"
    assert "required" in str(info.value)


def test_wrong_type_is_always_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        OutputImageGenerationCall.from_json('{"type": "message", "id": "x", "status": "completed"}')
    assert info.value.path == "$.type"
    assert "'image_generation_call'" in str(info.value)
    assert "'message'" in str(info.value)


@pytest.mark.parametrize("example", SEED_EXAMPLES, ids=lambda e: e["id"])
def test_own_copies_of_reference_examples_round_trip(example: dict[str, Any]) -> None:
    call = OutputImageGenerationCall.from_dict(example)
    expected = {**example, "result": example.get("result")}
    assert call.to_dict() == expected
    assert json.loads(call.to_json()) == expected


def test_result_absent_or_null_is_none_and_always_emitted() -> None:
    absent = OutputImageGenerationCall.from_json(
        '{"type":"image_generation_call","id":"a","status":"in_progress"}'
    )
    null = OutputImageGenerationCall.from_json(
        '{"type":"image_generation_call","id":"a","status":"in_progress","result":null}'
    )
    assert absent.result is None and null.result is None
    assert absent == null
    assert json.loads(absent.to_json())["result"] is None
    assert "result" in OutputImageGenerationCall(id="a", status="failed").to_dict()


def test_prompt_from_todays_api_is_kept() -> None:
    call = OutputImageGenerationCall.from_dict(SEED_EXAMPLES[4])
    assert call.prompt == "a lighthouse at dusk"


# -- unknown values -----------------------------------------------------------


def test_unknown_status_is_kept_raw_unless_strict() -> None:
    wire = '{"type":"image_generation_call","id":"a","status":"queued","result":null}'
    call = OutputImageGenerationCall.from_json(wire)
    assert call.status == "queued"
    assert not call.status_known
    assert same_json(call.to_json(), wire)
    with pytest.raises(ValidationError) as info:
        OutputImageGenerationCall.from_json(wire, strict=True)
    assert info.value.path == "$.status"
    for allowed in ("in_progress", "completed", "generating", "failed"):
        assert allowed in str(info.value)
    assert "queued" in str(info.value)


def test_unknown_status_inside_a_response_does_not_abort_parsing() -> None:
    body = {
        "output": [
            {"type": "image_generation_call", "id": "a", "status": "completed", "result": None},
            {"type": "image_generation_call", "id": "b", "status": "rendering", "result": None},
        ]
    }
    response = parse_response(json.dumps(body))
    assert [c.status_known for c in response.image_generation_calls] == [True, False]
    with pytest.raises(ValidationError) as info:
        parse_response(json.dumps(body), strict=True)
    assert info.value.path == "$.output[1].status"


def test_unknown_fields_are_kept_on_every_level() -> None:
    body = {
        "output": [
            {
                "type": "image_generation_call",
                "id": "a",
                "status": "completed",
                "result": None,
                "revised_prompt": "x",
            },
            {
                "type": "message",
                "id": "m",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "hi", "annotations": [], "extra": 1}],
                "phase": "final_answer",
            },
        ],
        "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3, "new_counter": 7},
        "brand_new_envelope_field": {"nested": [1, 2]},
    }
    response = parse_response(json.dumps(body))
    assert response.to_dict() == body


# -- the response ------------------------------------------------------------


def test_response_with_all_six_seed_era_kinds_and_unknown_kinds_round_trips() -> None:
    response = parse_response(ALL_KINDS)
    kinds = [type(item) for item in response.output]
    assert kinds == [
        OutputReasoning,
        OutputImageGenerationCall,
        OutputAssistant,
        OutputWebSearchCall,
        OutputFileSearchCall,
        OutputFunctionCall,
        UnknownOutput,
        OutputImageGenerationCall,
    ]
    unknown = response.output[6]
    assert isinstance(unknown, UnknownOutput)
    assert unknown.type == "openrouter:datetime"
    assert unknown.raw["datetime"] == "2026-11-24T20:00:00Z"
    assert same_json(response.to_json(), ALL_KINDS)
    assert response.to_dict() == json.loads(ALL_KINDS)
    assert parse_response(response.to_json()) == response


def test_response_accessors() -> None:
    response = parse_response(ALL_KINDS)
    assert [c.id for c in response.image_generation_calls] == ["ig_example_1", "ig_example_2"]
    assert response.output_text == "Here is your image."
    assert response.usage is not None and response.usage.total_tokens == 1068
    assert response.status == "completed"
    assert response.model == "openai/gpt-5-image"


def test_output_text_field_is_kept_as_given() -> None:
    body = {
        "output_text": "as the server said",
        "output": [
            {
                "type": "message",
                "content": [{"type": "output_text", "text": "joined text"}],
            }
        ],
    }
    response = parse_response(json.dumps(body))
    assert response.output_text == "as the server said"
    assert response.to_dict() == body
    del body["output_text"]
    assert parse_response(json.dumps(body)).output_text == "joined text"


def test_only_output_is_required_and_absent_fields_stay_absent() -> None:
    response = parse_response(b'{"output": []}')
    assert response.id is None and response.model is None and response.usage is None
    assert response.to_dict() == {"output": []}
    with_nulls: dict[str, Any] = {"output": [], "error": None, "model": None, "usage": None}
    assert parse_response(json.dumps(with_nulls)).to_dict() == with_nulls


def test_unknown_content_parts_are_kept() -> None:
    body = {"output": [{"type": "message", "content": [{"type": "output_audio", "data": "x"}]}]}
    response = parse_response(json.dumps(body))
    message = response.output[0]
    assert isinstance(message, OutputAssistant)
    assert isinstance(message.content[0], UnknownContent)
    assert response.to_dict() == body


def test_constructed_response_serialises_without_nones() -> None:
    response = Response(
        id="resp_1",
        output=[
            OutputImageGenerationCall(id="ig", status="completed", result="AAAA"),
            OutputAssistant(content=[OutputTextContent(text="done")]),
        ],
    )
    assert response.to_dict() == {
        "id": "resp_1",
        "output": [
            {"type": "image_generation_call", "id": "ig", "result": "AAAA", "status": "completed"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "done", "annotations": []}],
            },
        ],
    }
    assert parse_response(response.to_json()) == response


# -- errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path", "needle"),
    [
        (
            {"output": [{"type": "image_generation_call", "id": 5, "status": "completed"}]},
            "$.output[0].id",
            "5",
        ),
        ({"output": [{}, {"type": 3}]}, "$.output[0].type", "string"),
        ({"output": "nope"}, "$.output", "array"),
        ({}, "$.output", "required"),
        ({"output": [], "usage": {"input_tokens": "many"}}, "$.usage.input_tokens", "'many'"),
        (
            {"output": [{"type": "message", "content": [{"type": "output_text", "text": 1}]}]},
            "$.output[0].content[0].text",
            "str",
        ),
        ({"output": [], "created_at": "yesterday"}, "$.created_at", "'yesterday'"),
    ],
)
def test_validation_errors_name_the_path_value_and_expectation(
    body: Any, path: str, needle: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse_response(json.dumps(body))
    assert info.value.path == path
    assert str(info.value).startswith(path)
    assert needle in str(info.value)
    assert info.value.expected


def test_validation_error_is_a_value_error_and_library_error() -> None:
    assert issubclass(ValidationError, ValueError)
    assert issubclass(ValidationError, openrouter_imagegen.ImagegenError)


def test_long_values_are_shortened_in_errors() -> None:
    body = {"output": [], "model": ["x" * 100_000]}
    with pytest.raises(ValidationError) as info:
        parse_response(json.dumps(body))
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b'{"output": [}', 12),
        (b'{"output": []', 13),
        (b'{"output": [] } trailing', 16),
        (b'{"output": ["\xff"]}', 13),
        (b'{"output": [], "model": "\xc3\x28"}', 25),
        (b"", 0),
    ],
)
def test_malformed_json_reports_the_byte_offset(data: bytes, offset: int) -> None:
    with pytest.raises(ValidationError) as info:
        parse_response(data)
    assert info.value.offset == offset
    assert f"byte {offset}" in str(info.value)
    assert info.value.path is None


# -- repr -----------------------------------------------------------------------


def test_repr_never_prints_a_huge_result() -> None:
    call = OutputImageGenerationCall(id="big", status="completed", result="A" * 3_000_000)
    text = repr(call)
    assert len(text) < 300
    assert "3,000,000" in text
    assert "big" in text
    assert len(repr(Response(output=[call] * 4))) < 1500


# -- the reference specs (skipped without ../shared) ----------------------------


def _dicts_of_type(node: Any, type_value: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == type_value:
            found.append(node)
        for value in node.values():
            found.extend(_dicts_of_type(value, type_value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_dicts_of_type(value, type_value))
    return found


@pytest.mark.parametrize(
    "spec_name", ["openrouter-openapi-2025-09.yaml", "openrouter-openapi-2026-08.yaml"]
)
def test_every_reference_example_parses_and_round_trips(spec_name: str) -> None:
    spec = load_reference_spec(spec_name)
    examples = _dicts_of_type(spec, "image_generation_call")
    for example in examples:
        call = OutputImageGenerationCall.from_dict(example)
        assert call.to_dict() == {**example, "result": example.get("result")}
    responses = [
        node for node in _dicts_of_type(spec, "response") if isinstance(node.get("output"), list)
    ] + [
        node["response"] for node in _walk_dicts(spec) if _is_response_example(node.get("response"))
    ]
    for body in responses:
        parsed = parse_response(json.dumps(body))
        assert parsed.to_dict() == body
    if spec_name.endswith("2026-08.yaml"):
        assert len(examples) >= 2
        assert responses


def _walk_dicts(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            out.extend(_walk_dicts(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(_walk_dicts(value))
    return out


def _is_response_example(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and isinstance(node.get("output"), list)
        and node.get("object") == "response"
    )


def test_seed_era_schema_accepts_what_we_emit() -> None:
    spec = load_reference_spec("openrouter-openapi-2025-09.yaml")
    jsonschema = pytest.importorskip("jsonschema")
    schema = spec["paths"]["/api/alpha/responses"]["post"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    variants = schema["properties"]["output"]["items"]["oneOf"]
    image_variant = next(
        v
        for v in variants
        if v.get("properties", {}).get("type", {}).get("enum") == ["image_generation_call"]
    )
    image_variant = _openapi30_nullable(image_variant)
    for status in OutputStatusEnum3:
        for result in ("iVBORw0KGgo=", None):
            call = OutputImageGenerationCall(id="ig", status=status, result=result)
            jsonschema.validate(call.to_dict(), image_variant)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**call.to_dict(), "status": "done"}, image_variant)


def _openapi30_nullable(schema: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema's `type: [..., "null"]`."""
    if isinstance(schema, list):
        return [_openapi30_nullable(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _openapi30_nullable(v) for k, v in schema.items() if k != "nullable"}
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


# -- properties -------------------------------------------------------------------

_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_status = st.sampled_from([s.value for s in OutputStatusEnum3]) | st.text(min_size=1, max_size=12)
_extra_fields = st.dictionaries(
    st.text(max_size=10).filter(lambda k: k not in {"type", "id", "result", "status", "prompt"}),
    _json_values,
    max_size=3,
)


@st.composite
def image_calls(draw: st.DrawFn) -> dict[str, Any]:
    call: dict[str, Any] = {
        "type": "image_generation_call",
        "id": draw(st.text(max_size=30)),
        "status": draw(_status),
    }
    if draw(st.booleans()):
        call["result"] = draw(st.none() | st.text(max_size=60))
    if draw(st.booleans()):
        call["prompt"] = draw(st.text(max_size=20))
    call.update(draw(_extra_fields))
    return call


@st.composite
def responses(draw: st.DrawFn) -> dict[str, Any]:
    unknown_item = st.fixed_dictionaries(
        {"type": st.text(min_size=1, max_size=12).filter(lambda t: t not in _KNOWN_KINDS)},
        optional={"payload": _json_values},
    )
    message = st.fixed_dictionaries(
        {
            "type": st.just("message"),
            "content": st.lists(
                st.fixed_dictionaries(
                    {"type": st.just("output_text"), "text": st.text(max_size=20)}
                ),
                max_size=2,
            ),
        }
    )
    body: dict[str, Any] = {
        "output": draw(st.lists(image_calls() | unknown_item | message, max_size=5))
    }
    optional = {
        "id": st.text(max_size=10),
        "model": st.none() | st.text(max_size=10),
        "created_at": st.integers(0, 2**40),
        "error": st.none(),
        "status": st.sampled_from(["completed", "in_progress", "something_new"]),
        "usage": st.fixed_dictionaries({"input_tokens": st.integers(0, 10**6)}),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            body[key] = draw(strategy)
    body.update(draw(st.dictionaries(st.sampled_from(["x_extra", "provider", "zz"]), _json_values)))
    return body


_KNOWN_KINDS = {
    "image_generation_call",
    "message",
    "reasoning",
    "function_call",
    "web_search_call",
    "file_search_call",
}


@given(image_calls())
def test_property_call_round_trip(call: dict[str, Any]) -> None:
    parsed = OutputImageGenerationCall.from_json(json.dumps(call))
    assert json.loads(parsed.to_json()) == {**call, "result": call.get("result")}
    assert parsed.to_dict() == json.loads(parsed.to_json())


@given(responses())
def test_property_response_round_trip(body: dict[str, Any]) -> None:
    wire = msgspec.json.encode(body)
    parsed = parse_response(wire)
    expected = json.loads(wire)
    for item in expected["output"]:
        if item.get("type") == "image_generation_call":
            item.setdefault("result", None)
    assert parsed.to_dict() == expected
    assert parse_response(parsed.to_json()) == parsed


@settings(max_examples=300)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_property_garbage_bytes_raise_only_validation_error(data: bytes) -> None:
    try:
        parse_response(data)
        OutputImageGenerationCall.from_json(data)
    except ValidationError:
        pass


@settings(max_examples=300)
@given(
    _json_values
    | st.dictionaries(st.sampled_from(["output", "type", "id", "status", "result"]), _json_values)
)
def test_property_garbage_json_raises_only_validation_error(value: Any) -> None:
    wire = json.dumps(value)
    for parse in (parse_response, OutputImageGenerationCall.from_json):
        try:
            parse(wire)
        except ValidationError as exc:
            assert exc.path is not None and exc.path.startswith("$")


def test_constructor_strings_become_enum_members() -> None:
    call = OutputImageGenerationCall(type="image_generation_call", id="a", status="completed")  # type: ignore[arg-type]
    assert call.type is OutputTypeImageGenerationCall.IMAGE_GENERATION_CALL
    assert call.status is OutputStatusEnum3.COMPLETED
    with pytest.raises(ValueError, match="message"):
        OutputImageGenerationCall(type="message", id="a", status="completed")  # type: ignore[arg-type]


def test_openrouter_image_generation_tool_items_are_modelled_and_round_trip() -> None:
    from openrouter_imagegen.models import OutputImageGenerationServerTool

    body = {
        "output": [
            {
                "type": "openrouter:image_generation",
                "id": "ig_tmp_1",
                "status": "completed",
                "result": "https://example.test/image.png",
                "imageUrl": "https://example.test/image.png",
                "revisedPrompt": "a fox, watercolour",
            },
            {
                "type": "image_generation_call",
                "id": "ig_2",
                "status": "completed",
                "result": "AAAA",
            },
        ]
    }
    response = parse_response(json.dumps(body))
    tool = response.output[0]
    assert isinstance(tool, OutputImageGenerationServerTool)
    assert tool.image_url == "https://example.test/image.png"
    assert tool.revised_prompt == "a fox, watercolour"
    assert [item.id for item in response.image_outputs] == ["ig_tmp_1", "ig_2"]
    assert [call.id for call in response.image_generation_calls] == ["ig_2"]
    assert response.to_dict() == body
