declare module "parse-prometheus-text-format" {
  type Family = { name: string; help: string; type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED"; metrics: any[] };
  /** Throws on a line that is not valid text exposition format. */
  export default function parsePrometheusTextFormat(text: string): Family[];
}
