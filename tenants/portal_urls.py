"""The registered-contacts routes, relative to ``/portal/<org>/contacts/``.

Mounted inside the ``portal`` namespace, so the names are ``portal:contacts`` and so on::

    path("contacts/", include("tenants.portal_urls")),  # in tickets/portal_urls.py

No ``app_name`` here: the routes join the portal's namespace instead of opening their own.
"""

from django.urls import path

from tenants import portal_views

urlpatterns = [
    path("", portal_views.contacts, name="contacts"),
    path("phones/new/", portal_views.contact_phone_add, name="contact_phone_add"),
    path("emails/new/", portal_views.contact_email_add, name="contact_email_add"),
    path("<slug:kind>/<int:contact>/remove/", portal_views.contact_remove, name="contact_remove"),
]
