// The frame of every view: the left navigation (Map, Services, Traces,
// Findings, Alerts), the theme switch and the page outlet. Nav links carry the
// current time range so a window chosen on one view stays on the next.
import { useEffect, useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
import { AlertIcon, BellIcon, ListIcon, Logo, MapIcon, MoonIcon, SunIcon, TracesIcon } from './Icons';
import { type Theme, applyTheme, currentTheme } from '../utils/theme';
import { timeRangeSearch } from '../utils/timeRange';

export function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(() => currentTheme());
  useEffect(() => {
    const on = (e: Event) => setTheme((e as CustomEvent<Theme>).detail);
    window.addEventListener('tracehound:theme', on);
    return () => window.removeEventListener('tracehound:theme', on);
  }, []);
  return [theme, (t: Theme) => applyTheme(t)];
}

const LINKS = [
  { to: '/', label: 'Map', icon: MapIcon, end: true },
  { to: '/services', label: 'Services', icon: ListIcon, end: false },
  { to: '/traces', label: 'Traces', icon: TracesIcon, end: false },
  { to: '/findings', label: 'Findings', icon: AlertIcon, end: false },
  { to: '/alerts', label: 'Alerts', icon: BellIcon, end: false },
];

export function AppShell() {
  const location = useLocation();
  const [theme, setTheme] = useTheme();
  const time = timeRangeSearch(location.search);
  const next: Theme = theme === 'dark' ? 'light' : 'dark';
  return (
    <div className="app">
      <nav className="nav" aria-label="Main">
        <NavLink to={`/${time}`} className="brand" aria-label="tracehound home">
          <Logo />
          <span className="label">tracehound</span>
        </NavLink>
        {LINKS.map(({ to, label, icon: Icon, end }) => (
          <NavLink
            key={to}
            to={`${to}${time}`}
            end={end}
            className={({ isActive }) => `nav-link${isActive || (to === '/' && location.pathname === '/map') ? ' active' : ''}`}
          >
            <Icon />
            <span className="label">{label}</span>
          </NavLink>
        ))}
        <div className="spacer" />
        <div className="nav-footer">
          <button
            type="button"
            className="btn ghost"
            onClick={() => setTheme(next)}
            aria-label={`Switch to ${next} theme`}
            data-testid="theme-toggle"
          >
            {theme === 'dark' ? <SunIcon size={16} /> : <MoonIcon size={16} />}
            <span className="label">{theme === 'dark' ? 'Light theme' : 'Dark theme'}</span>
          </button>
          <a className="btn ghost" href="/api/v1/services" target="_blank" rel="noreferrer">
            <span className="label small">JSON API</span>
          </a>
        </div>
      </nav>
      <main className="main" id="main">
        <Outlet />
      </main>
    </div>
  );
}
