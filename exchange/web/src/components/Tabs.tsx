import { ComponentChild } from "preact";
import { useRef, useState } from "preact/hooks";

let uid = 0;

/** WAI-ARIA tabs: arrow keys, Home and End move between them. */
export function Tabs({ label, tabs }: { label: string; tabs: [string, () => ComponentChild][] }) {
  const [active, setActive] = useState(0);
  const id = useRef(`tabs${++uid}`).current;
  const list = useRef<HTMLDivElement>(null);

  function key(e: KeyboardEvent) {
    const n = tabs.length;
    const next = e.key === "ArrowRight" ? (active + 1) % n : e.key === "ArrowLeft" ? (active + n - 1) % n
      : e.key === "Home" ? 0 : e.key === "End" ? n - 1 : -1;
    if (next < 0) return;
    e.preventDefault();
    setActive(next);
    (list.current?.children[next] as HTMLElement | undefined)?.focus();
  }

  return (
    <>
      <div class="tabs" role="tablist" aria-label={label} ref={list} onKeyDown={key}>
        {tabs.map(([title], i) => (
          <button type="button" role="tab" id={`${id}-t${i}`} aria-controls={`${id}-p${i}`} key={i}
                  aria-selected={i === active} tabIndex={i === active ? 0 : -1} onClick={() => setActive(i)}>{title}</button>
        ))}
      </div>
      <div role="tabpanel" id={`${id}-p${active}`} aria-labelledby={`${id}-t${active}`} tabIndex={0}>
        {tabs[active][1]()}
      </div>
    </>
  );
}
