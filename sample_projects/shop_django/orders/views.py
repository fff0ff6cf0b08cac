import json

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views import View
from django.views.decorators.http import require_GET, require_POST

from .models import Customer, Order, Product
from .reports import order_status_counts, top_customers
from .serializers import ValidationError, parse_order_lines, serialize_order
from .services import latest_order_for, place_order

PAGE_SIZE = 100


@login_required
@require_GET
def order_list(request):
    statuses = request.GET.getlist("status") or [Order.Status.NEW, Order.Status.PAID]
    orders = Order.objects.filter(status__in=statuses).order_by("-created_at")[:PAGE_SIZE]

    rows = []
    for order in orders:
        rows.append(
            {
                "number": order.number,
                "status": order.status,
                "customer_id": order.customer_id,
                "customer_email": order.customer.email,
                "total": str(order.total),
            }
        )
    return JsonResponse({"orders": rows})


@login_required
@require_GET
def order_detail(request, number):
    order = get_object_or_404(Order.objects.select_related("customer"), number=number)
    return JsonResponse(serialize_order(order))


@login_required
@require_POST
def checkout(request):
    try:
        payload = json.loads(request.body)
        lines = parse_order_lines(payload)
    except (ValueError, ValidationError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)

    order = place_order(
        request.user.customer,
        lines,
        shipping_address=payload.get("shipping_address", ""),
    )
    return JsonResponse({"number": order.number, "total": str(order.total)}, status=201)


@require_GET
def product_search(request):
    terms = request.GET.get("q", "").split()
    products = Product.objects.filter(is_active=True)
    for term in terms:
        products = products.filter(name__icontains=term)

    results = []
    for product in products.select_related("category")[:50]:
        results.append(
            {
                "sku": product.sku,
                "name": product.name,
                "price": str(product.price),
                "category": product.category.name,
                "tags": [tag.name for tag in product.tags.all()],
            }
        )
    return JsonResponse({"results": results})


@login_required
@require_GET
def customer_overview(request):
    customers = Customer.objects.filter(is_active=True).order_by("name")[:50]

    summary = []
    for customer in customers:
        last_order = latest_order_for(customer.id)
        summary.append(
            {
                "name": customer.name,
                "email": customer.email,
                "last_order": last_order.number if last_order else None,
            }
        )
    return JsonResponse({"customers": summary})


@login_required
@require_GET
def dashboard(request):
    return JsonResponse(
        {
            "status_counts": order_status_counts(),
            "top_customers": top_customers(limit=5),
        }
    )


class CustomerOrderHistoryView(LoginRequiredMixin, View):
    http_method_names = ["get"]

    def get(self, request, *args, **kwargs):
        customer = request.user.customer
        orders = (
            Order.objects.filter(customer=customer)
            .prefetch_related("items")
            .order_by("-created_at")
        )

        history = []
        for order in orders:
            lines = [
                {
                    "product_id": item.product_id,
                    "quantity": item.quantity,
                    "unit_price": str(item.unit_price),
                }
                for item in order.items.all()
            ]
            history.append(
                {
                    "number": order.number,
                    "status": order.status,
                    "total": str(order.total),
                    "lines": lines,
                }
            )
        return JsonResponse({"customer": customer.name, "orders": history})
