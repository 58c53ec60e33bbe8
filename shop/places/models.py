from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model


class Province(Model):
    """A province-level unit; `merged_from` lists the pre-2025 provinces it absorbed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "city" | "province"
    merged_from: Mapped[str] = mapped_column(Text, default="")  # comma-separated names
    position: Mapped[int] = mapped_column(default=0)
    region: Mapped[str] = mapped_column(String(8), default="")  # north | central | south (shipping zones)

    @property
    def merged_names(self) -> list[str]:
        return [n for n in self.merged_from.split(",") if n]


class Ward(Model):
    """A commune-level unit (xã, phường, đặc khu) of the 2025 two-level government."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    province_id: Mapped[int] = mapped_column(ForeignKey("province.id"), index=True)

    province: Mapped[Province] = relationship()
