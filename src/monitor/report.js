(function () {
  "use strict";
  var body = document.body;
  window.addEventListener("error", function () {
    body.setAttribute("data-check", "script-error");
  });
  function key(cell) {
    var text = cell.getAttribute("data-sort");
    if (text === null) {
      text = cell.textContent.replace("%", "").trim();
    }
    var number = parseFloat(text);
    return isNaN(number) ? text.toLowerCase() : number;
  }
  function compare(x, y) {
    if (typeof x !== typeof y) {
      return typeof x === "number" ? -1 : 1;
    }
    if (x === y) {
      return 0;
    }
    return x > y ? 1 : -1;
  }
  function sortTable(table, column, header) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function (a, b) {
      var order = compare(key(a.cells[column]), key(b.cells[column]));
      return ascending ? order : -order;
    });
    rows.forEach(function (row) {
      tbody.appendChild(row);
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      button.setAttribute("aria-label", "Sort by " + th.textContent);
      button.addEventListener("click", function () {
        sortTable(table, column, th);
      });
      th.textContent = "";
      th.appendChild(button);
    });
  });
  var empty = 0;
  Array.prototype.forEach.call(document.querySelectorAll("svg.chart"), function (chart) {
    if (chart.querySelectorAll("path.series, rect.bar").length === 0) {
      empty += 1;
    }
  });
  if (body.getAttribute("data-check") === "pending") {
    body.setAttribute("data-check", empty === 0 ? "ok" : "empty-chart");
  }
})();
