/**
 * Escaping of event text (job names, errors, queue names: anyone with a write key chooses them) for
 * each markup a delivery lands in, so that text shows as written and never becomes markup: no
 * Slack `<!channel>` mention or `<https://evil|disguised link>`, no Markdown or wiki link in Teams
 * or Jira, no tag in an XML template.
 */

/** Slack mrkdwn: only `&`, `<` and `>` are control characters, and Slack asks for exactly these entities. */
export const slackText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Teams MessageCard text is Markdown with some HTML: HTML-escape, then backslash-escape the characters of links and emphasis. */
export const teamsText = (s: string) =>
  s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[\\`*_[\]~]/g, (c) => `\\${c}`);

/** Jira wiki markup (REST API v2 descriptions): backslash-escape the characters that start markup. */
export const jiraText = (s: string) => s.replace(/[\\[\]{}|*_!^~]/g, (c) => `\\${c}`);

/** XML and HTML text or attribute content. */
export const xmlText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
