// SMS segment counting: GSM-7 (160 per text, 153 per part) or UCS-2 (70, 67) when any character
// falls outside GSM-7; extension characters take two GSM-7 slots. The character tables, shortener
// domains and capitals carriers expect come from the server (#sms-rules), so both count alike.
(function () {
  "use strict";
  const rules = JSON.parse(document.getElementById("sms-rules").textContent);
  const BASIC = rules.gsm7_basic;
  const EXTENDED = rules.gsm7_extended;
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const SHORTENERS = new RegExp(`(^|[^\\w.-])(${rules.shorteners.map(escape).join("|")})/`, "i");
  const CAPS_ALLOWED = new Set(rules.caps_allowed);

  function count(text) {
    let septets = 0;
    const unicode = new Set();
    for (const ch of text) {
      if (BASIC.includes(ch)) septets += 1;
      else if (EXTENDED.includes(ch)) septets += 2;
      else unicode.add(ch);
    }
    if (unicode.size === 0) {
      const segments = septets === 0 ? 0 : septets <= 160 ? 1 : Math.ceil(septets / 153);
      return { encoding: "GSM-7", units: septets, segments, perSegment: septets <= 160 ? 160 : 153, unicode: [] };
    }
    const units = text.length;  // UTF-16 code units: an emoji takes two
    const segments = units <= 70 ? 1 : Math.ceil(units / 67);
    return { encoding: "UCS-2", units, segments, perSegment: units <= 70 ? 70 : 67, unicode: [...unicode] };
  }

  function lint(text) {
    const warnings = [];
    const info = count(text);
    if (info.encoding === "UCS-2") {
      warnings.push(`${info.unicode.slice(0, 5).join(" ")} switch this text to UCS-2 (70 characters per segment)`);
    }
    if (info.segments > 3) warnings.push(`long text: ${info.segments} segments, billed and delivered as ${info.segments}`);
    if (SHORTENERS.test(text)) warnings.push("carriers often filter public link shorteners; use the business's own domain");
    const words = (text.match(/\b[A-Z]{4,}\b/g) || []).filter((w) => !CAPS_ALLOWED.has(w));
    if (words.length >= 3) warnings.push("lots of ALL CAPS reads as shouting and can trip spam filters");
    return warnings;
  }

  window.textdeskSegments = { count, lint };
})();
