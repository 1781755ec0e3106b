/**
 * Whether a drag that started inside the page (a cast row) is in flight, so
 * the window's file-drop overlay does not show for it.
 */
let active = false;

export function setInternalDrag(on: boolean): void {
  active = on;
}

export function isInternalDrag(): boolean {
  return active;
}
