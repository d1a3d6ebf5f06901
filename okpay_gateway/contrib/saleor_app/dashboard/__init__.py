"""The merchant's pages inside the Saleor Dashboard (App extensions).

``auth`` checks the Dashboard's token of the staff user, ``csrf`` the signed
form tokens, ``views`` the pages, ``extensions`` what the manifest declares.
"""
