"""Imports every model module so that the metadata (and Alembic) sees all tables."""

from shop.accounts.models import Address, ProducerInvite, ProducerMember, User
from shop.audit.models import AuditEntry
from shop.bank.models import BankTransfer
from shop.cart.models import Cart, CartLine
from shop.catalog.models import Category, Product, ProductImage, Variant
from shop.inventory.models import ApiToken, IdempotencyKey, ProducerFeed, StockImport
from shop.ledger.models import CommissionOverride, LedgerEntry, Payout
from shop.notifications.models import OutboxEmail
from shop.orders.models import Order, OrderEvent, OrderLine, SubOrder
from shop.partners.models import PartnerWebhook, WebhookDelivery
from shop.payments.models import Payment, Refund, StripeEvent
from shop.places.models import Province, Ward
from shop.producers.models import Certificate, Producer
from shop.promotions.models import Promotion, PromotionEnrolment, Voucher, VoucherRedemption
from shop.reviews.models import Review, ReviewPhoto
from shop.settings.models import Setting
from shop.shipping.models import ShippingRate

__all__ = [
    "AuditEntry",
    "BankTransfer",
    "CommissionOverride",
    "LedgerEntry",
    "Payout",
    "Promotion",
    "PromotionEnrolment",
    "Voucher",
    "VoucherRedemption",
    "ApiToken",
    "IdempotencyKey",
    "OutboxEmail",
    "PartnerWebhook",
    "ProducerFeed",
    "ProducerInvite",
    "StockImport",
    "WebhookDelivery",
    "Address",
    "Cart",
    "CartLine",
    "Category",
    "Certificate",
    "Order",
    "OrderEvent",
    "OrderLine",
    "Payment",
    "Producer",
    "ProducerMember",
    "Product",
    "ProductImage",
    "Province",
    "Refund",
    "Review",
    "ReviewPhoto",
    "Setting",
    "ShippingRate",
    "StripeEvent",
    "SubOrder",
    "User",
    "Variant",
    "Ward",
]
