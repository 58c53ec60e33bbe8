// The card payment page (templates/payments/pay.html).
//
// One flow that works with Stripe.js and with localstripe's fake of it:
//   1. stripe.confirmCardSetup(setup secret, {payment_method: {card}})  -> a PaymentMethod id
//   2. POST it to the server, which creates and confirms the PaymentIntent
//   3. if the server answers "requires_action": stripe.confirmCardPayment(pi secret),
//      then POST .../xac-nhan to learn how it ended (the server asks Stripe)
//   4. on success go to the order page; on any failure say why, re-enable the button.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form) return;
  var d = form.dataset;
  var button = document.getElementById("pay-button");
  var errorBox = document.getElementById("card-errors");
  var statusBox = document.getElementById("pay-status");
  var messages = JSON.parse(document.getElementById("pay-messages").textContent);

  function showError(text) {
    statusBox.textContent = "";
    errorBox.textContent = text || messages.card_declined;
    errorBox.hidden = false;
  }
  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
  }
  function say(text) { statusBox.textContent = text; }

  if (typeof Stripe === "undefined") {
    showError(messages.no_script);
    return;
  }

  var stripe = Stripe(d.publishableKey, { locale: document.documentElement.lang || "vi" });
  var card = stripe.elements().create("card", { hidePostalCode: true });
  card.mount("#card-element");
  button.disabled = false;

  var setupSecret = d.setupSecret;
  var setupUsed = false; // a SetupIntent that succeeded cannot take another card
  var busy = false;

  // Stripe.js errors: ours in Vietnamese when we know the code, else Stripe's text.
  function stripeMessage(error) {
    if (!error) return messages.card_declined;
    var code = error.decline_code || error.code;
    if (code && messages[code]) return messages[code];
    if (error.type === "validation_error") return error.message || messages.incomplete;
    if (/authenticat/i.test(error.message || "")) return messages.authentication_failed;
    return messages.card_declined;
  }

  function post(url, body) {
    body = body || {};
    body.t = d.token || undefined;
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": d.csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok || data.error) {
          return { status: "failed", message: (data.error && data.error.message) || messages.unavailable };
        }
        return data;
      });
    });
  }

  async function freshSetupSecret() {
    var answer = await post(d.setupUrl);
    if (!answer.client_secret) throw { shopMessage: answer.message };
    return answer.client_secret;
  }

  async function pay() {
    if (setupUsed) {
      setupSecret = await freshSetupSecret();
      setupUsed = false;
    }
    say(messages.processing);
    var setup = await stripe.confirmCardSetup(setupSecret, { payment_method: { card: card } });
    if (setup.error) {
      // A declined set-up may have used up the SetupIntent; a form error did not.
      if (setup.error.type !== "validation_error") setupUsed = true;
      return { status: "failed", message: stripeMessage(setup.error) };
    }
    setupUsed = true;
    var paymentMethod = setup.setupIntent.payment_method;
    if (paymentMethod && paymentMethod.id) paymentMethod = paymentMethod.id;
    var answer = await post(d.payUrl, { payment_method: paymentMethod });
    if (answer.status === "requires_action") {
      say(messages.authenticating);
      // Whatever Stripe.js reports, the server asks Stripe how the payment ended.
      await stripe.confirmCardPayment(answer.client_secret);
      say(messages.processing);
      answer = await post(d.confirmUrl);
      if (answer.status === "requires_action") {
        return { status: "failed", message: messages.authentication_failed };
      }
    }
    return answer;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    clearError();
    var answer;
    try {
      answer = await pay();
    } catch (err) {
      answer = { status: "failed", message: (err && err.shopMessage) || messages.unavailable };
    }
    if ((answer.status === "succeeded" || answer.status === "processing") && answer.redirect) {
      say(messages.done);
      window.location.assign(answer.redirect);
      return;
    }
    showError(answer.message);
    busy = false;
    button.disabled = false;
    button.removeAttribute("aria-busy");
  });
})();
