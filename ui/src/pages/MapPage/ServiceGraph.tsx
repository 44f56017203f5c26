// The Cytoscape canvas of the service map. It owns no state: elements come
// from props (utils/graph.ts), selection is the URL's, and taps are
// reported through onSelect. The layered dagre layout runs only when the
// set of elements changes, so refreshing metrics does not move anything.
import { useEffect, useRef, useState } from 'react';
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import type { CyElement } from '../../utils/graph';
import { layeredLayout } from '../../utils/layout';
import { FitIcon, MinusIcon, PlusIcon } from '../../components/Icons';
import { buildStylesheet, readPalette } from './cyStyle';

// Cytoscape injects a <style> element (id below) into <head> unless an
// element with that id exists. The server's Content-Security-Policy allows
// no inline styles beyond index.html's, so the rule it would add
// (.__________cytoscape_container { position: relative }) lives in
// styles.css, and an empty marker stops the injection.
const CY_STYLESHEET_ID = '__________cytoscape_stylesheet';

let registered = false;
function register() {
  if (!registered) {
    cytoscape.use(dagre);
    registered = true;
  }
  if (!document.getElementById(CY_STYLESHEET_ID)) {
    const marker = document.createElement('meta');
    marker.id = CY_STYLESHEET_ID;
    marker.setAttribute('name', 'cytoscape-stylesheet');
    marker.setAttribute('content', 'in styles.css');
    document.head.prepend(marker);
  }
}

export type MapSelection = { node: string } | { edge: string } | null;

export interface ServiceGraphProps {
  elements: CyElement[];
  /** A node id or an edge id (utils/graph edgeId). */
  selectedNode?: string;
  selectedEdge?: string;
  focus?: string;
  onSelect: (sel: MapSelection) => void;
  /** Describes an element for the hover tooltip. */
  describe?: (id: string, group: 'nodes' | 'edges') => string;
}

declare global {
  interface Window {
    /** The map's Cytoscape instance, for end-to-end tests and debugging. */
    __tracehoundCy?: cytoscape.Core;
  }
}

/** Above this many nodes dagre takes seconds (its crossing reduction). */
export const DAGRE_MAX_NODES = 120;

/**
 * The layered layout, left to right: dagre up to DAGRE_MAX_NODES nodes
 * (tidiest; ~0.1 s for 50 nodes but ~6 s for 300), and our linear layered
 * layout (utils/layout.ts, milliseconds for 300) above that. Search and the
 * neighbourhood view (back to dagre) keep big maps navigable.
 */
export function runLayout(cy: cytoscape.Core): void {
  const count = cy.nodes().length;
  if (count > DAGRE_MAX_NODES) {
    const positions = layeredLayout(
      cy.nodes().map((node) => ({ id: node.id(), width: node.outerWidth(), height: node.outerHeight() })),
      cy.edges().map((edge) => ({ source: edge.source().id(), target: edge.target().id() })),
      { rankGap: 110, nodeGap: 14 },
    );
    cy.layout({
      name: 'preset',
      positions: (node: cytoscape.NodeSingular) => positions.get(node.id()) ?? { x: 0, y: 0 },
      fit: true,
      padding: 40,
      animate: false,
    } as cytoscape.LayoutOptions).run();
    return;
  }
  cy.layout({
    name: 'dagre',
    rankDir: 'LR',
    nodeSep: count > 60 ? 20 : 46,
    rankSep: count > 60 ? 60 : 70,
    edgeSep: 12,
    ranker: 'network-simplex',
    fit: true,
    padding: 40,
    animate: false,
  } as cytoscape.LayoutOptions).run();
}

function signature(elements: CyElement[]): string {
  return elements
    .map((e) => e.data.id)
    .sort()
    .join('\n');
}

export function ServiceGraph({ elements, selectedNode, selectedEdge, focus, onSelect, describe }: ServiceGraphProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const cyRef = useRef<cytoscape.Core | null>(null);
  const sigRef = useRef<string>('');
  const onSelectRef = useRef(onSelect);
  const describeRef = useRef(describe);
  onSelectRef.current = onSelect;
  describeRef.current = describe;
  const [tip, setTip] = useState<{ x: number; y: number; text: string } | null>(null);

  // Create once.
  useEffect(() => {
    register();
    const cy = cytoscape({
      container: containerRef.current,
      style: buildStylesheet(readPalette()),
      elements: [],
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
      selectionType: 'single',
    });
    cyRef.current = cy;
    window.__tracehoundCy = cy;
    cy.on('tap', 'node', (e) => onSelectRef.current({ node: e.target.id() }));
    cy.on('tap', 'edge', (e) => onSelectRef.current({ edge: e.target.id() }));
    cy.on('tap', (e) => {
      setTip(null);
      if (e.target === cy) onSelectRef.current(null);
    });
    cy.on('mouseover', 'node, edge', (e) => {
      const ele = e.target as cytoscape.SingularElementArgument;
      ele.addClass('hover');
      const text = describeRef.current?.(ele.id(), ele.isNode() ? 'nodes' : 'edges');
      if (text) {
        const pos = e.renderedPosition ?? { x: 0, y: 0 };
        setTip({ x: pos.x, y: pos.y, text });
      }
      if (containerRef.current) containerRef.current.style.cursor = 'pointer';
    });
    cy.on('mouseout', 'node, edge', (e) => {
      e.target.removeClass('hover');
      setTip(null);
      if (containerRef.current) containerRef.current.style.cursor = '';
    });
    cy.on('viewport', () => setTip(null));
    const onTheme = () => {
      // The theme attribute is set before this event; read the new colours.
      cy.style(buildStylesheet(readPalette()));
    };
    window.addEventListener('tracehound:theme', onTheme);
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => cy.resize()) : null;
    if (ro && containerRef.current) ro.observe(containerRef.current);
    return () => {
      window.removeEventListener('tracehound:theme', onTheme);
      ro?.disconnect();
      if (window.__tracehoundCy === cy) delete window.__tracehoundCy;
      cy.destroy();
      cyRef.current = null;
    };
  }, []);

  // Elements: update in place when only data changed, else rebuild and lay out.
  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    const sig = signature(elements);
    if (sig === sigRef.current) {
      cy.batch(() => {
        for (const el of elements) {
          const ele = cy.getElementById(el.data.id);
          ele.data(el.data);
          ele.classes(el.classes ?? '');
        }
      });
      return;
    }
    sigRef.current = sig;
    cy.batch(() => {
      cy.elements().remove();
      cy.add(elements as cytoscape.ElementDefinition[]);
    });
    runLayout(cy);
    if (cy.zoom() > 1.4) {
      cy.zoom(1.4);
      cy.center();
    }
  }, [elements]);

  // Selection and focus: highlight the element and its neighbourhood.
  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.batch(() => {
      cy.elements().removeClass('sel faded focus');
      if (focus) cy.getElementById(focus).addClass('focus');
      let sel: cytoscape.CollectionReturnValue | null = null;
      if (selectedNode) {
        const n = cy.getElementById(selectedNode);
        if (n.nonempty()) sel = n.closedNeighborhood();
        n.addClass('sel');
      } else if (selectedEdge) {
        const e = cy.getElementById(selectedEdge);
        if (e.nonempty()) sel = e.union(e.connectedNodes());
        e.addClass('sel');
      }
      if (sel) cy.elements().difference(sel).addClass('faded');
    });
    // Bring the selection into view when it is off screen.
    const id = selectedNode ?? selectedEdge;
    if (id) {
      const ele = cy.getElementById(id);
      if (ele.nonempty()) {
        const bb = ele.renderedBoundingBox();
        const w = cy.width();
        const h = cy.height();
        if (bb.x2 < 0 || bb.y2 < 0 || bb.x1 > w || bb.y1 > h) {
          cy.animate({ center: { eles: ele }, duration: 250 });
        }
      }
    }
  }, [selectedNode, selectedEdge, focus, elements]);

  const zoomBy = (f: number) => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.zoom({ level: cy.zoom() * f, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  };

  return (
    <>
      <div ref={containerRef} className="map-canvas" data-testid="map-canvas" aria-label="Service map" role="img" />
      {tip && (
        <div
          className="legend map-tip"
          role="tooltip"
          style={{
            left: Math.min(tip.x + 14, (containerRef.current?.clientWidth ?? 9999) - 330),
            top: tip.y + 14,
          }}
        >
          {tip.text}
        </div>
      )}
      <div className="zoom-controls">
        <button type="button" className="btn" aria-label="Zoom in" title="Zoom in" onClick={() => zoomBy(1.25)}>
          <PlusIcon size={16} />
        </button>
        <button type="button" className="btn" aria-label="Zoom out" title="Zoom out" onClick={() => zoomBy(0.8)}>
          <MinusIcon size={16} />
        </button>
        <button type="button" className="btn" aria-label="Fit to screen" title="Fit to screen" onClick={() => cyRef.current?.fit(undefined, 40)}>
          <FitIcon size={16} />
        </button>
      </div>
    </>
  );
}
