"""Settings read from the environment (every ``ESAT_*`` variable is documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    db: str
    outbox: Path
    smtp_host: str | None
    smtp_port: int | None
    mail_from: str
    today: date | None
    demo_password: str
    secret: str
    demo: bool = False  # demo mode: demo accounts work, a banner says so (ESAT_DEMO=1)
    base_url: str = "http://127.0.0.1:8501"  # public address of the service, for links in e-mails


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    today = env.get("ESAT_TODAY") or None
    port = env.get("ESAT_SMTP_PORT") or None
    return Settings(
        db=env.get("ESAT_DB") or str(ROOT / "data" / "esat.duckdb"),
        outbox=Path(env.get("ESAT_OUTBOX") or ROOT / "data" / "outbox"),
        smtp_host=env.get("ESAT_SMTP_HOST") or None,
        smtp_port=int(port) if port else None,
        mail_from=env.get("ESAT_MAIL_FROM") or "ne-pas-repondre@espace-esat.example.org",
        today=date.fromisoformat(today) if today else None,
        demo_password=env.get("ESAT_DEMO_PASSWORD") or "Demo-Espace-ESAT-2026",
        secret=env.get("ESAT_SECRET") or "dev-secret-change-me",
        demo=(env.get("ESAT_DEMO") or "").strip().lower() in {"1", "true", "oui", "yes"},
        base_url=(env.get("ESAT_BASE_URL") or "").strip().rstrip("/") or "http://127.0.0.1:8501",
    )
