// A sortable table: click a column head to sort by it, again to reverse. Nulls sort last.
import { h } from "./dom.js";

/**
 * columns: [{key, label, numeric?, value?(row), render?(row), cell?(row, td)}]
 * options: {sort, dir ("asc"|"desc"), onSort(key, dir), totals?: row, rowProps?(row)}
 */
export function sortableTable(columns, rows, options = {}) {
  const { sort = null, dir = "desc", onSort = null, totals = null, rowProps = null } = options;
  const column = columns.find((c) => c.key === sort);
  const valueOf = (c, row) => (c.value ? c.value(row) : row[c.key]);
  let sorted = rows;
  if (column) {
    const sign = dir === "asc" ? 1 : -1;
    sorted = [...rows].sort((a, b) => {
      const x = valueOf(column, a);
      const y = valueOf(column, b);
      if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
      if (y === null || y === undefined) return -1;
      if (typeof x === "number" && typeof y === "number") return sign * (x - y);
      return sign * String(x).localeCompare(String(y));
    });
  }
  const head = h("tr", {}, columns.map((c) => {
    const active = column && c.key === column.key;
    const label = onSort
      ? h("button", {
        type: "button", className: "sort",
        onclick: () => onSort(c.key, active && dir === "desc" ? "asc" : "desc"),
      }, c.label, h("span", { className: "arrow", "aria-hidden": "true" },
        active ? (dir === "asc" ? " ▲" : " ▼") : ""))
      : c.label;
    return h("th", {
      className: c.numeric ? "num" : "",
      "aria-sort": active ? (dir === "asc" ? "ascending" : "descending") : null,
      dataset: { key: c.key }, scope: "col",
    }, label);
  }));
  const cell = (c, row, tag = "td") => {
    const td = h(tag, { className: c.numeric ? "num" : "", dataset: { key: c.key } });
    const content = c.render ? c.render(row) : row[c.key];
    td.append(content instanceof Node ? content : document.createTextNode(content ?? "—"));
    if (c.cell) c.cell(row, td);
    return td;
  };
  const body = sorted.map((row) =>
    h("tr", rowProps ? rowProps(row) : {}, columns.map((c) => cell(c, row))));
  const foot = totals ? h("tfoot", {}, h("tr", { className: "totals" },
    columns.map((c, i) => (i === 0 ? h("th", { scope: "row" }, "Total") : cell(c, totals))))) : null;
  return h("div", { className: "table-wrap" },
    h("table", { className: "data" }, h("thead", {}, head), h("tbody", {}, body), foot));
}

/** Heat shading for a rate cell (0..1): a blue background whose strength follows the rate. */
export function heat(rate, td) {
  if (rate === null || rate === undefined) return;
  const alpha = 0.04 + 0.3 * Math.max(0, Math.min(1, rate));
  td.style.backgroundColor = `rgba(52, 81, 209, ${alpha.toFixed(3)})`;
  if (rate >= 0.5) td.classList.add("strong");
}
