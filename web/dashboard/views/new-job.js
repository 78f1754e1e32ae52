// New job: a form built from each job type's parameter schema (GET /job-types), validated by the API itself.
import { api, ApiFailure, fetchJobTypes } from "../api.js";
import { fill, h, toast } from "../ui.js";

export function newJobPage(ctx) {
  const typeInput = h("input", { name: "type", id: "nj-type", list: "nj-types", required: true, autocomplete: "off" });
  const typeList = h("datalist", { id: "nj-types" });
  const description = h("p", { class: "muted" });
  const paramFields = h("div", { class: "row" });
  const errors = h("div", { role: "alert", class: "error" });
  let types = [];
  let schemaFields = null; // [name, schema] when the type's parameters are a flat object schema

  let shown = null; // the form now on screen: re-rendering the same one would wipe what was typed
  function showType() {
    const t = types.find((x) => x.name === typeInput.value);
    fill(description, t?.description ?? "");
    const props = t?.parameters?.type === "object" && t.parameters.properties ? Object.entries(t.parameters.properties) : null;
    schemaFields = props && props.every(([, s]) => ["string", "number", "integer", "boolean"].includes(s.type) || s.enum) ? props : null;
    const form = schemaFields ? `schema:${t.name}` : "json";
    if (form === shown) return;
    shown = form;
    if (schemaFields) {
      const required = new Set(t.parameters.required ?? []);
      fill(
        paramFields,
        schemaFields.map(([name, s]) => {
          const id = `nj-p-${name}`;
          const input = s.enum
            ? h("select", { id, name: `p.${name}` }, h("option", { value: "" }, "—"), s.enum.map((v) => h("option", { value: String(v) }, String(v))))
            : s.type === "boolean"
              ? h("input", { id, name: `p.${name}`, type: "checkbox" })
              : h("input", { id, name: `p.${name}`, type: s.type === "string" ? "text" : "number", step: s.type === "integer" ? "1" : "any" });
          return h("label", { for: id, class: s.type === "boolean" ? "check" : null, title: s.description ?? null }, `${name}${required.has(name) ? " *" : ""}`, input);
        }),
      );
    } else {
      fill(paramFields, h("label", { for: "nj-params" }, "Parameters (JSON)", h("textarea", { id: "nj-params", name: "parameters", rows: 6, cols: 60 }, "{}")));
    }
  }
  typeInput.addEventListener("input", showType);

  function collect(form) {
    const data = new FormData(form);
    const str = (k) => String(data.get(k) ?? "").trim();
    const body = { type: typeInput.value.trim() };
    if (str("name")) body.name = str("name");
    if (str("queue")) body.queue = str("queue");
    if (str("priority")) body.priority = str("priority");
    if (str("delay")) body.delay = str("delay");
    if (str("maxRetries")) body.maxRetries = Number(str("maxRetries"));
    if (schemaFields) {
      body.parameters = {};
      for (const [name, s] of schemaFields) {
        if (s.type === "boolean") {
          if (data.get(`p.${name}`)) body.parameters[name] = true;
          continue;
        }
        const v = str(`p.${name}`);
        if (v === "") continue;
        body.parameters[name] = s.type === "number" || s.type === "integer" ? Number(v) : v;
      }
    } else {
      try {
        body.parameters = JSON.parse(str("parameters") || "{}");
      } catch {
        throw new ApiFailure(400, { message: "Invalid request: parameters: not valid JSON" });
      }
    }
    return body;
  }

  const form = h(
    "form",
    {
      class: "panel",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        fill(errors);
        try {
          const job = await api("/jobs", { body: collect(form) });
          toast(`Created ${job.id}.`);
          location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
        } catch (err) {
          fill(errors, h("p", {}, err.message), err.body?.details?.length ? h("ul", {}, err.body.details.map((d) => h("li", {}, `${d.path}: ${d.message}`))) : null);
        }
      },
    },
    h("div", { class: "row" }, h("label", { for: "nj-type" }, "Type *", typeInput), typeList, h("label", { for: "nj-name" }, "Name", h("input", { id: "nj-name", name: "name" })), h("label", { for: "nj-queue" }, "Queue", h("input", { id: "nj-queue", name: "queue", placeholder: "default" }))),
    description,
    paramFields,
    h(
      "div",
      { class: "row" },
      h("label", { for: "nj-priority" }, "Priority", h("select", { id: "nj-priority", name: "priority" }, ["", "low", "normal", "high"].map((p) => h("option", { value: p }, p || "normal")))),
      h("label", { for: "nj-delay" }, "Delay (hh:mm:ss)", h("input", { id: "nj-delay", name: "delay", placeholder: "00:00:00", size: 10 })),
      h("label", { for: "nj-retries" }, "Max retries", h("input", { id: "nj-retries", name: "maxRetries", type: "number", min: 0, size: 4 })),
    ),
    errors,
    h("p", {}, h("button", { type: "submit", disabled: !ctx.session.can("tickerq:write"), title: ctx.session.can("tickerq:write") ? null : "Needs the tickerq:write scope; this token is read-only" }, "Create job")),
  );
  const el = h("div", {}, h("p", {}, h("a", { href: "#/jobs" }, "← Jobs")), h("h1", {}, "New job"), form);

  fetchJobTypes()
    .then((jobTypes) => {
      types = jobTypes;
      fill(typeList, types.map((t) => h("option", { value: t.name }, t.kind)));
      // Never write into a field someone is typing in: a value set mid-typing joins what they typed.
      if (!typeInput.value && document.activeElement !== typeInput && types[0]) typeInput.value = types[0].name;
      showType();
    })
    .catch((err) => fill(errors, err.message));
  return { title: "New job", el };
}
