// Search box of the service map: type part of a name, pick with the arrow
// keys and Enter (an accessible combobox).
import { useId, useMemo, useState } from 'react';
import { type MapNode, searchNodes } from '../utils/graph';
import { NodeKindBadge } from './Badges';
import { SearchIcon } from './Icons';

export function NodeSearch({ nodes, onPick }: { nodes: MapNode[]; onPick: (node: MapNode) => void }) {
  const [q, setQ] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const listId = useId();
  const results = useMemo(() => searchNodes(nodes, q), [nodes, q]);
  const pick = (n: MapNode) => {
    onPick(n);
    setQ('');
    setOpen(false);
  };
  return (
    <div className="search-box">
      <span className="search-icon">
        <SearchIcon size={15} />
      </span>
      <input
        type="search"
        role="combobox"
        aria-label="Find a service or node"
        aria-expanded={open && results.length > 0}
        aria-controls={listId}
        aria-activedescendant={open && results[active] ? `${listId}-${active}` : undefined}
        placeholder={`Find among ${nodes.length} nodes…`}
        value={q}
        onChange={(e) => {
          setQ(e.target.value);
          setActive(0);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((a) => Math.min(results.length - 1, a + 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(0, a - 1));
          } else if (e.key === 'Enter' && results[active]) {
            e.preventDefault();
            pick(results[active]);
          } else if (e.key === 'Escape') {
            setOpen(false);
          }
        }}
      />
      {open && q && (
        <ul className="search-results" role="listbox" id={listId}>
          {results.length === 0 && <li aria-disabled="true">No match</li>}
          {results.map((n, i) => (
            <li
              key={n.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(n);
              }}
            >
              <span className="grow ellipsis">{n.name}</span>
              <NodeKindBadge kind={n.kind} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
