// Reads a page's state from the query string with its url.ts parser and
// navigates to new URLs. Filter changes replace the history entry; moves
// that a user would want "Back" for (selecting something) push one.
import { useCallback } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';

export function useUrlState<T>(getUrlState: (search: string) => T) {
  const location = useLocation();
  const navigate = useNavigate();
  const state = getUrlState(location.search);
  const go = useCallback(
    (url: string, opts: { replace?: boolean } = {}) => {
      navigate(url, { replace: opts.replace ?? false });
    },
    [navigate],
  );
  return [state, go] as const;
}
