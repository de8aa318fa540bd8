"""Check an API body against the serializer its endpoint declares in the OpenAPI document:
no key the serializer does not name, no required key missing, nested shapes alike."""

from rest_framework import serializers


def fits(serializer, data, path: str = "body") -> None:
    if isinstance(serializer, serializers.ListSerializer):
        assert isinstance(data, list), path
        for index, row in enumerate(data):
            fits(serializer.child, row, f"{path}[{index}]")
        return
    if isinstance(serializer, type):
        serializer = serializer()
    if data is None:
        assert serializer.allow_null or not serializer.required, f"{path} is null"
        return
    fields = serializer.fields
    assert set(data) <= set(fields), f"{path}: undeclared {sorted(set(data) - set(fields))}"
    missing = [name for name, field in fields.items() if field.required and name not in data]
    assert not missing, f"{path}: missing {missing}"
    for name, value in data.items():
        field = fields[name]
        if isinstance(field, serializers.BaseSerializer):
            fits(field, value, f"{path}.{name}")
        elif value is None:
            assert field.allow_null, f"{path}.{name} is null"
