// PayPredict dashboard behaviour that HTMX attributes do not cover. No inline scripts:
// the Content-Security-Policy allows scripts from 'self' only. Listeners are delegated on
// the document so they keep working for content HTMX swaps in.
(function () {
  "use strict";

  // A <select data-autosubmit> submits its form on change (the form keeps a submit
  // button for browsers without JS).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]") && target.form) {
      target.form.requestSubmit ? target.form.requestSubmit() : target.form.submit();
    }
  });

  // Bulk selection: a "select all on this page" box and row boxes named "code".
  function refreshSelection(form) {
    if (!form) return;
    var boxes = form.querySelectorAll("input[type=checkbox][name=code]");
    var checked = form.querySelectorAll("input[type=checkbox][name=code]:checked").length;
    var all = form.querySelector("input[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    form.querySelectorAll("[data-selected-count]").forEach(function (el) {
      el.textContent = checked === 1 ? "1 selected" : checked + " selected";
    });
    form.querySelectorAll("[data-needs-selection]").forEach(function (el) {
      el.disabled = checked === 0;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches) return;
    if (target.matches("input[data-select-all]")) {
      target.form.querySelectorAll("input[type=checkbox][name=code]").forEach(function (box) {
        box.checked = target.checked;
      });
      refreshSelection(target.form);
    } else if (target.matches("input[type=checkbox][name=code]")) {
      refreshSelection(target.form);
    }
  });

  function refreshAll() {
    document.querySelectorAll("form[data-bulk]").forEach(refreshSelection);
  }
  document.addEventListener("DOMContentLoaded", refreshAll);
  document.addEventListener("htmx:afterSettle", refreshAll);

  // Ask PayPredict: an example question fills the box and is asked; a successful answer
  // clears the box for the next question.
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.matches || !target.matches("button[data-ask-example]")) return;
    var input = document.getElementById("ask-question");
    if (!input) return;
    input.value = target.textContent.trim();
    input.form.requestSubmit ? input.form.requestSubmit() : input.form.submit();
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "ask-form" && event.detail.successful) {
      form.querySelector("[name=question]").value = "";
    }
  });
})();
