import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone

from .models import Order, OrderEvent, Product, Setting

logger = logging.getLogger(__name__)

ABANDONED_AFTER = timedelta(hours=48)


@shared_task
def send_pending_receipts():
    pending = Order.objects.filter(
        status=Order.Status.PAID, receipt_sent_at__isnull=True
    ).select_related("customer")

    sent = []
    for order in pending:
        currency = Setting.objects.get(key="currency").value
        send_mail(
            subject=f"Receipt for order {order.number}",
            message=f"Thank you for your order. Total: {order.total} {currency}",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[order.customer.email],
        )
        sent.append(order.pk)

    Order.objects.filter(pk__in=sent).update(receipt_sent_at=timezone.now())
    logger.info("sent %d receipts", len(sent))


@shared_task
def cancel_abandoned_orders():
    cutoff = timezone.now() - ABANDONED_AFTER
    stale = Order.objects.filter(status=Order.Status.NEW, created_at__lt=cutoff)

    for order_id, customer_id in stale.values_list("id", "customer_id"):
        OrderEvent.objects.create(
            order_id=order_id,
            kind="abandoned",
            note=f"no payment from customer {customer_id} within 48h",
        )
    cancelled = stale.update(status=Order.Status.CANCELLED)
    logger.info("cancelled %d abandoned orders", cancelled)


@shared_task
def low_stock_alert():
    rows = (
        Product.objects.filter(is_active=True, stock__lt=F("reorder_level"))
        .values("sku", "name", "stock", "category__name")
        .order_by("category__name", "sku")
    )
    lines = []
    for row in rows:
        lines.append(f"[{row['category__name']}] {row['sku']} {row['name']}: {row['stock']} left")
    if lines:
        send_mail(
            subject="Low stock report",
            message="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=["purchasing@shop.example"],
        )
    return len(lines)
