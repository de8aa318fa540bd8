from django import template

register = template.Library()


@register.filter
def model_name(instance) -> str:
    return instance._meta.model_name
