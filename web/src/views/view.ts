/** The shape every page of the app has: built once, shown and hidden by the navigation. */
export interface View {
  /** The page's root element. */
  readonly element: HTMLElement;
  /** Called when the page becomes visible (start timers, subscriptions). */
  show?(): void;
  /** Called when another page is shown (stop what costs while unseen). */
  hide?(): void;
  /** Called on log out: stop everything. */
  dispose(): void;
}
