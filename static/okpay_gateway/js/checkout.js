/*
 * OKPAY checkout for storefronts.
 *
 * A form rendered by {% okpay_checkout_button %} posts to the shop without
 * JavaScript. With data-okpay-graphql-url, this script runs Saleor's
 * checkoutPaymentCreate and checkoutComplete mutations instead and follows
 * confirmationData:
 *   {redirect_url, method: "GET"}            -> location.assign(redirect_url)
 *   {action, method: "POST", fields: {...}}  -> an auto-submitted POST form
 * When no confirmation is needed the checkout is paid; the script goes to
 * data-okpay-return-url.
 * Buttons with data-confirm ask before submitting their form.
 */
(function () {
  "use strict";

  var PAYMENT_CREATE = [
    "mutation OkpayCheckoutPaymentCreate($token: String, $input: PaymentInput!) {",
    "  checkoutPaymentCreate(token: $token, input: $input) {",
    "    payment { id chargeStatus }",
    "    errors { field message code }",
    "  }",
    "}"
  ].join("\n");

  var COMPLETE = [
    "mutation OkpayCheckoutComplete($token: String, $redirectUrl: String) {",
    "  checkoutComplete(token: $token, redirectUrl: $redirectUrl) {",
    "    payment { id chargeStatus }",
    "    confirmationNeeded",
    "    confirmationData",
    "    errors { field message code }",
    "  }",
    "}"
  ].join("\n");

  function parseData(value) {
    if (!value) { return null; }
    if (typeof value === "string") {
      try { return JSON.parse(value); } catch (e) { return null; }
    }
    return value;
  }

  /** Send the browser to OKPAY as confirmationData says. */
  function follow(data, doc) {
    doc = doc || document;
    var method = String(data.method || "GET").toUpperCase();
    var fields = data.fields || {};
    if (method === "GET" && data.redirect_url) {
      window.location.assign(data.redirect_url);
      return "GET";
    }
    var form = doc.createElement("form");
    form.method = "post";
    form.action = data.action || data.redirect_url;
    form.style.display = "none";
    Object.keys(fields).forEach(function (name) {
      var input = doc.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = fields[name];
      form.appendChild(input);
    });
    doc.body.appendChild(form);
    form.submit();
    return "POST";
  }

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setStatus(form, text) {
    var status = form.querySelector(".okpay-checkout__status");
    if (status) { status.textContent = text; }
  }

  function graphql(form, query, variables) {
    return fetch(form.getAttribute("data-okpay-graphql-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(form) },
      body: JSON.stringify({ query: query, variables: variables })
    }).then(function (response) {
      return response.json();
    });
  }

  function result(body, name) {
    var value = body && body.data && body.data[name];
    var errors = (value && value.errors) || (body && body.errors) || [];
    if (!value || errors.length) {
      throw new Error(errors.length ? errors[0].message : "The payment could not be started.");
    }
    return value;
  }

  /**
   * Saleor's storefront sequence: checkoutPaymentCreate with the gateway,
   * then checkoutComplete; follow confirmationData when it is needed.
   */
  function complete(form) {
    var button = form.querySelector("button[type=submit]");
    var token = form.getAttribute("data-okpay-checkout-token");
    var gateway = form.getAttribute("data-okpay-gateway");
    var returnUrl = form.getAttribute("data-okpay-return-url") || null;
    if (button) { button.disabled = true; }
    setStatus(form, "Contacting OKPAY…");
    return graphql(form, PAYMENT_CREATE, {
      token: token,
      input: { gateway: gateway, returnUrl: returnUrl }
    }).then(function (body) {
      result(body, "checkoutPaymentCreate");
      return graphql(form, COMPLETE, { token: token, redirectUrl: returnUrl });
    }).then(function (body) {
      var done = result(body, "checkoutComplete");
      if (done.confirmationNeeded) {
        var data = parseData(done.confirmationData);
        if (!data) { throw new Error("OKPAY's confirmation data is missing."); }
        setStatus(form, "Taking you to OKPAY…");
        follow(data);
        return;
      }
      setStatus(form, "Paid.");
      window.location.assign(returnUrl || form.getAttribute("data-okpay-done-url") || window.location.href);
    }).catch(function (error) {
      if (button) { button.disabled = false; }
      setStatus(form, error.message);
    });
  }

  function init(root) {
    root = root || document;
    Array.prototype.forEach.call(root.querySelectorAll("form.okpay-checkout[data-okpay-graphql-url]"), function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.fetch) { return; }
        event.preventDefault();
        complete(form);
      });
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-confirm]"), function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  window.OkpayCheckout = { follow: follow, complete: complete, init: init };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(); });
  } else {
    init();
  }
}());
