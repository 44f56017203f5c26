// Loading, empty and error states: every view shows one of these rather
// than a blank page.
import type { ReactNode } from 'react';
import { ApiError } from '../api/client';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      <div className="spinner" />
      <div>{label}</div>
    </div>
  );
}

export function Spinner({ label = 'Updating' }: { label?: string }) {
  return <div className="spinner" role="status" aria-label={label} style={{ width: 16, height: 16, borderWidth: 2 }} />;
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state" data-testid="empty">
      <h2>{title}</h2>
      {children && <div className="detail">{children}</div>}
    </div>
  );
}

/** Explains an error: the server's own message and kind, and what to try. */
export function errorText(error: unknown): { title: string; message: string; hint?: string } {
  if (error instanceof ApiError) {
    switch (error.errorType) {
      case 'not_found':
        return { title: 'Not found', message: error.message };
      case 'bad_data':
      case 'bad_request':
        return { title: 'The request was refused', message: error.message, hint: 'Check the filters in the address bar.' };
      case 'timeout':
        return { title: 'The query took too long', message: error.message, hint: 'Try a shorter time range.' };
      case 'network':
        return { title: 'Cannot reach tracehound', message: error.message, hint: 'Is the server running?' };
      case 'bad_response':
        return { title: 'Unexpected answer from the server', message: error.message };
      default:
        return { title: 'The server failed', message: error.message, hint: 'Details are in the server log.' };
    }
  }
  return { title: 'Something went wrong', message: error instanceof Error ? error.message : String(error) };
}

export function ErrorView({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const t = errorText(error);
  const type = error instanceof ApiError ? error.errorType : undefined;
  return (
    <div className="state error" role="alert" data-testid="error">
      <h2>{t.title}</h2>
      <div className="detail">
        {t.message}
        {type && (
          <>
            {' '}
            <code>({type})</code>
          </>
        )}
      </div>
      {t.hint && <div className="detail">{t.hint}</div>}
      {onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** A compact error line for panels that still show other data. */
export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const t = errorText(error);
  return (
    <div className="error-box" role="alert">
      <div className="grow">
        <strong>{t.title}.</strong> {t.message}
      </div>
      {onRetry && (
        <button type="button" className="btn small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}
