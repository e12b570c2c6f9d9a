/* The one admin dialog (askpro/admin_dialogs.py). No inline handlers: CSP allows only our files.
 *
 * A link with data-askpro-dialog opens its URL's form in a <dialog>. Submitting posts the form
 * with fetch: on success the page loads the URL the server names (the outcome is a Django
 * message there); a refusal is shown inside the dialog and every input keeps what was typed.
 * Offered free times are buttons that fill the dialog's date-time input. */
(function () {
  "use strict";
  var HEADER = "X-AskPro-Dialog";
  var box = null;

  function dialogBox() {
    if (box) return box;
    box = document.createElement("dialog");
    box.id = "askpro-dialog";
    box.className = "askpro-dialog-box";
    box.addEventListener("click", function (event) {
      if (event.target === box) box.close(); // a click on the backdrop
    });
    document.body.appendChild(box);
    return box;
  }

  function open(url) {
    fetch(url, { headers: { [HEADER]: "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var target = dialogBox();
        target.innerHTML = html;
        wire(target, true);
        target.showModal();
        var first = target.querySelector("input:not([type=hidden]), select, textarea");
        if (first) first.focus();
      })
      .catch(function () {
        window.location.assign(url); // the same form as a page
      });
  }

  function showRefusal(root, body) {
    var panel = root.querySelector("[data-testid=dialog-error]");
    panel.querySelector("[data-error-message]").textContent = body.message || "";
    var list = panel.querySelector("[data-alternatives]");
    list.replaceChildren();
    (body.alternatives || []).forEach(function (alternative) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "askpro-alt";
      button.dataset.alternative = alternative.value;
      button.textContent = alternative.label;
      list.appendChild(button);
    });
    panel.hidden = false;
    Object.keys(body.errors || {}).forEach(function (name) {
      var slot = root.querySelector('[data-field-errors="' + name + '"]');
      if (!slot) return;
      body.errors[name].forEach(function (text) {
        var item = document.createElement("li");
        item.textContent = text;
        slot.appendChild(item);
      });
    });
  }

  function clearRefusal(root) {
    var panel = root.querySelector("[data-testid=dialog-error]");
    panel.hidden = true;
    root.querySelectorAll("[data-field-errors]").forEach(function (slot) { slot.replaceChildren(); });
  }

  function submit(root, form) {
    var button = form.querySelector("[type=submit]");
    button.disabled = true;
    clearRefusal(root);
    fetch(form.action, {
      method: "POST", body: new FormData(form), headers: { [HEADER]: "1" }, credentials: "same-origin",
    })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.ok) {
          window.location.assign(body.redirect);
          return;
        }
        showRefusal(root, body);
        button.disabled = false;
      })
      .catch(function () {
        var container = root.querySelector("[data-network-error]");
        showRefusal(root, { message: container ? container.dataset.networkError : "" });
        button.disabled = false;
      });
  }

  function wire(root, inDialog) {
    var container = root.querySelector("[data-testid=askpro-dialog]");
    var form = root.querySelector("form[data-askpro-dialog-form]");
    if (!container || !form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit(root, form);
    });
    root.querySelectorAll("[data-dialog-close]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (!inDialog) return; // on the page version the link goes back
        event.preventDefault();
        box.close();
      });
    });
    root.addEventListener("click", function (event) {
      var choice = event.target.closest("[data-alternative]");
      if (!choice) return;
      var input = form.querySelector('[name="' + container.dataset.alternativesField + '"]');
      if (input) {
        input.value = choice.dataset.alternative;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
      root.querySelectorAll("[data-alternative]").forEach(function (other) {
        other.classList.toggle("askpro-alt-chosen", other === choice);
      });
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-askpro-dialog]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    open(link.href);
  });

  function init() {
    var page = document.querySelector(".askpro-dialog-page");
    if (page) wire(page, false);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
