// The promotions calendar: a bar and its row in the list light up together; the calendar
// says it is ready (data-ready) once wired. No inline script (strict CSP).
(function () {
  'use strict';
  function wire() {
    var calendar = document.querySelector('[data-calendar]');
    if (!calendar) { return; }
    var bars = calendar.querySelectorAll('td.promo-bar[data-promo]');
    bars.forEach(function (bar) {
      var row = document.querySelector('[data-promo-row="' + bar.dataset.promo + '"]');
      function on() { bar.classList.add('hover'); if (row) { row.classList.add('hover'); } }
      function off() { bar.classList.remove('hover'); if (row) { row.classList.remove('hover'); } }
      bar.addEventListener('mouseenter', on);
      bar.addEventListener('mouseleave', off);
      if (row) {
        row.addEventListener('mouseenter', on);
        row.addEventListener('mouseleave', off);
      }
    });
    calendar.dataset.ready = String(bars.length);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', wire);
  } else {
    wire();
  }
}());
