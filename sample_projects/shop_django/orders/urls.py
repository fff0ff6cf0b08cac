from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("orders/", views.order_list, name="order-list"),
    path("orders/<str:number>/", views.order_detail, name="order-detail"),
    path("checkout/", views.checkout, name="checkout"),
    path("products/search/", views.product_search, name="product-search"),
    path("customers/overview/", views.customer_overview, name="customer-overview"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("me/orders/", views.CustomerOrderHistoryView.as_view(), name="my-orders"),
]
