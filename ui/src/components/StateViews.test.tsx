import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import { Empty, ErrorBox, ErrorView, Loading, errorText } from './StateViews';

describe('state views', () => {
  it('shows the server’s message and error type, and retries', async () => {
    const retry = vi.fn();
    render(<ErrorView error={new ApiError(503, 'timeout', 'query ran past 30s')} onRetry={retry} />);
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('The query took too long');
    expect(alert).toHaveTextContent('query ran past 30s');
    expect(alert).toHaveTextContent('(timeout)');
    expect(alert).toHaveTextContent('Try a shorter time range.');
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(retry).toHaveBeenCalledOnce();
  });

  it('explains every kind of failure', () => {
    expect(errorText(new ApiError(404, 'not_found', 'trace not found')).title).toBe('Not found');
    expect(errorText(new ApiError(400, 'bad_data', 'x')).hint).toMatch(/address bar/);
    expect(errorText(new ApiError(0, 'network', 'down')).title).toBe('Cannot reach tracehound');
    expect(errorText(new ApiError(500, 'internal', 'ClickHouse failed')).title).toBe('The server failed');
    expect(errorText(new Error('boom'))).toEqual({ title: 'Something went wrong', message: 'boom' });
  });

  it('renders loading, empty and inline error states', () => {
    render(
      <>
        <Loading label="Loading the map…" />
        <Empty title="Nothing here">Try a longer window.</Empty>
        <ErrorBox error={new ApiError(500, 'internal', 'db down')} />
      </>,
    );
    expect(screen.getByRole('status')).toHaveTextContent('Loading the map…');
    expect(screen.getByTestId('empty')).toHaveTextContent('Nothing hereTry a longer window.');
    expect(screen.getByRole('alert')).toHaveTextContent('The server failed. db down');
  });
});
