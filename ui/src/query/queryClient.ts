// The one place where caching and retry behaviour of API queries is set.
import { QueryClient } from '@tanstack/react-query';
import { ApiError } from '../api/client';

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Views refresh on demand (the Refresh button) or when their window
        // changes; 15 s keeps back-and-forth navigation instant.
        staleTime: 15_000,
        gcTime: 5 * 60_000,
        refetchOnWindowFocus: false,
        // A 4xx will not get better by asking again; a network blip or a
        // 5xx may. One retry keeps errors on screen quickly.
        retry: (failureCount, error) => {
          if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
          return failureCount < 1;
        },
        retryDelay: 500,
      },
    },
  });
}
