"""retention's own tables hold no personal data: rules are law, not people."""

from .models import RetentionRule
from .registry import datamap

datamap.exempt_model(RetentionRule, reason="Aturan retensi: teks hukum, bukan data pribadi.")
