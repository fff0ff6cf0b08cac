import csv
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from orders.models import PriceHistory, Product


class Command(BaseCommand):
    help = "Update product prices from a supplier CSV feed with columns sku,price."

    def add_arguments(self, parser):
        parser.add_argument("csv_path")
        parser.add_argument("--dry-run", action="store_true")

    def _read_feed(self, path):
        rows = []
        try:
            with open(path, newline="") as fh:
                for record in csv.DictReader(fh):
                    try:
                        rows.append((record["sku"].strip(), Decimal(record["price"])))
                    except (KeyError, InvalidOperation):
                        self.stderr.write(f"skipping malformed row: {record}")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}")
        return rows

    def handle(self, *args, **options):
        rows = self._read_feed(options["csv_path"])
        skus = [sku for sku, _ in rows]
        products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}

        history = []
        with transaction.atomic():
            for sku, new_price in rows:
                product = products.get(sku)
                if product is None:
                    self.stderr.write(f"unknown sku {sku}")
                    continue
                if product.price == new_price:
                    continue
                history.append(
                    PriceHistory(product=product, old_price=product.price, new_price=new_price)
                )
                product.price = new_price
                if not options["dry_run"]:
                    product.save(update_fields=["price", "updated_at"])

            if not options["dry_run"]:
                PriceHistory.objects.bulk_create(history)

        verb = "would update" if options["dry_run"] else "updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} {len(history)} prices"))
