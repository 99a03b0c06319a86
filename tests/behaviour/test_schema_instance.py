"""Instances generated from JSON Schemas validate, and the same seed gives the same instance."""

import random

import jsonschema
import pytest
from aoai_mock.behaviour.schema_instance import instance

SCHEMAS = [
    {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
     "required": ["location", "unit"], "additionalProperties": False},
    {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "integer", "minimum": 3, "maximum": 9},
                                                "minItems": 2, "maxItems": 4}}},
    {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"}, "id": {"type": "string", "format": "uuid"},
                                      "n": {"type": ["number", "null"], "minimum": -1, "maximum": 1}, "ok": {"type": "boolean"}}},
    {"$defs": {"step": {"type": "object", "properties": {"explanation": {"type": "string"}, "output": {"type": "string"}},
                        "required": ["explanation", "output"], "additionalProperties": False}},
     "type": "object", "properties": {"steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
                                      "final_answer": {"type": "string"}}, "required": ["steps", "final_answer"]},
    {"type": "object", "properties": {"value": {"anyOf": [{"type": "string", "minLength": 5}, {"type": "null"}]},
                                      "fixed": {"const": 42}, "short": {"type": "string", "maxLength": 3}}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_instance_validates(schema):
    for seed in range(20):
        jsonschema.validate(instance(schema, random.Random(seed)), schema)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_same_seed_same_instance(schema):
    assert instance(schema, random.Random(7)) == instance(schema, random.Random(7))


def test_empty_schema_gives_empty_object():
    assert instance(None, random.Random(0)) == {}
