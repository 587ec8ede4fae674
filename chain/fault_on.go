//go:build faultinject

package chain

const faultInjectionDefault = true
