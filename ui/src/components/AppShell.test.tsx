import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { renderAt } from '../test/render';
import { AppShell } from './AppShell';

describe('AppShell', () => {
  it('has the five views in the nav and carries the time range', () => {
    renderAt(<AppShell />, { route: '/services?range=6h&q=pay' });
    const nav = screen.getByRole('navigation', { name: 'Main' });
    const links = [...nav.querySelectorAll('a.nav-link')].map((a) => [a.textContent, a.getAttribute('href')]);
    expect(links).toEqual([
      ['Map', '/?range=6h'],
      ['Services', '/services?range=6h'],
      ['Traces', '/traces?range=6h'],
      ['Findings', '/findings?range=6h'],
      ['Alerts', '/alerts?range=6h'],
    ]);
    expect(screen.getByRole('link', { name: 'Services' })).toHaveClass('active');
  });

  it('switches the theme and remembers it', async () => {
    document.documentElement.dataset.theme = 'light';
    renderAt(<AppShell />);
    await userEvent.click(screen.getByRole('button', { name: 'Switch to dark theme' }));
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(localStorage.getItem('tracehound.theme')).toBe('dark');
    expect(screen.getByRole('button', { name: 'Switch to light theme' })).toBeInTheDocument();
  });
});
