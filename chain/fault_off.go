//go:build !faultinject

package chain

const faultInjectionDefault = false
