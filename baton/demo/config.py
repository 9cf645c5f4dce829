"""The reference app's configuration, read from the environment (12-factor style: the
worker, the API and `baton demo` read the same variables).

| variable | default | meaning |
| --- | --- | --- |
| `BATON_DEMO_STORE` | `./baton-documents` | fsspec URL for uploaded bytes and saved results |
| `BATON_DEMO_KEY` | unset | 32-byte AES-GCM key (hex or base64): seal everything stored |
| `BATON_DEMO_LLM_PROVIDERS` | unset | JSON list of providers (see llm.py); unset = offline |
| `BATON_DEMO_MAX_BYTES` | 52428800 | largest upload accepted |
| `BATON_DEMO_MAX_PAGES` | 2000 | most pages accepted |
| `BATON_DEMO_PHONE_REGION` | `US` | region for phone numbers written without a country code |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .llm import Provider, providers_from_env
from .models import Limits
from .store import DocumentStore, load_key


@dataclass(frozen=True, slots=True)
class DemoConfig:
    store_url: str = "./baton-documents"
    key: bytes | None = None
    limits: Limits = field(default_factory=Limits)
    providers: tuple[Provider, ...] = ()

    @classmethod
    def from_env(cls) -> DemoConfig:
        env = os.environ
        limits = Limits(
            max_bytes=int(env.get("BATON_DEMO_MAX_BYTES", Limits().max_bytes)),
            max_pages=int(env.get("BATON_DEMO_MAX_PAGES", Limits().max_pages)),
        )
        return cls(
            store_url=env.get("BATON_DEMO_STORE", "./baton-documents"),
            key=load_key(env.get("BATON_DEMO_KEY")),
            limits=limits,
            providers=tuple(providers_from_env()),
        )

    def store(self) -> DocumentStore:
        return DocumentStore(self.store_url, self.key)
