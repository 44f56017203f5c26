// Light/dark theme. The choice is a preference (localStorage, like jaeger-ui's
// preferences), not URL state; index.html applies it before the first paint.
export type Theme = 'light' | 'dark';

export const THEME_KEY = 'tracehound.theme';

export function systemTheme(): Theme {
  try {
    return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  } catch {
    return 'light';
  }
}

export function savedTheme(): Theme | null {
  try {
    const v = localStorage.getItem(THEME_KEY);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null;
  }
}

export function currentTheme(): Theme {
  const attr = document.documentElement.dataset.theme;
  if (attr === 'light' || attr === 'dark') return attr;
  return savedTheme() ?? systemTheme();
}

export function applyTheme(theme: Theme, persist = true): void {
  document.documentElement.dataset.theme = theme;
  if (persist) {
    try {
      localStorage.setItem(THEME_KEY, theme);
    } catch {
      // private mode: the theme still applies for this page
    }
  }
  window.dispatchEvent(new CustomEvent('tracehound:theme', { detail: theme }));
}
