// The site owner's own analytics wiring: listens to the widget's DOM events.
// (Google Tag Manager users get the same events through window.dataLayer.)
// This is the site's code, not ours: nothing here is needed for the widget to work.
(function () {
  var log = document.getElementById("widget-events");
  ["bw:mounted", "bw:fallback", "bw:opened", "bw:contact-captured", "bw:booking-completed", "bw:abandoned"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      var d = e.detail || {};
      if (log) {
        var li = document.createElement("li");
        li.textContent = name + (d.reference ? " " + d.reference : "");
        log.appendChild(li);
      }
      // e.g. fire a referral-program conversion tag here on bw:booking-completed.
    });
  });
})();
