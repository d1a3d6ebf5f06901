"""The Saleor App: OKPAY on Saleor's Transactions API.

A Django app (label ``okpay_saleor_app``) served beside the core, not inside
Saleor: Saleor installs it from its manifest, calls its JWS-signed webhooks
and receives its reports through GraphQL with the app token. It translates
only; agreements, payments and renewals are the core's and billing's rows,
shared with the plugin route.
"""
