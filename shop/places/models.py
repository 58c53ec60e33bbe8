from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import db


class Province(db.Model):
    """A province-level unit; `merged_from` lists the pre-2025 provinces it absorbed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "city" | "province"
    merged_from: Mapped[str] = mapped_column(Text, default="")  # comma-separated names
    position: Mapped[int] = mapped_column(default=0)

    @property
    def merged_names(self) -> list[str]:
        return [n for n in self.merged_from.split(",") if n]
